"""EventBridge rules and targets belong to an account and a region; rule tags move to a table
of their own.

A rule takes its account and region from its ARN, which has always carried them (the
server's configured defaults when it does not say); a target takes its rule's (the old
tables made a rule's name unique on its bus, so the bus and the rule's name find it). A
rule's name becomes unique on its bus in its account and region. The tags each rule kept in a
JSON column become rows of ``events_tags``, keyed by the rule's ARN. Rows keep their ``seq``.

Revision ID: events_0002
Revises: events_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "events_0002"
down_revision = "events_0001"
branch_labels = None
depends_on = None
PAGE = 1000


def _scope(arn: str, defaults: tuple[str, str]) -> tuple[str, str]:
    parts = arn.split(":")
    if len(parts) > 5 and parts[0] == "arn" and parts[3] and parts[4]:
        return parts[4], parts[3]
    return defaults


def upgrade() -> None:
    attributes = context.config.attributes
    defaults = (attributes.get("account_id", "123456789012"), attributes.get("region", "us-east-1"))
    bind = op.get_bind()
    for name in ("events_rules", "events_targets"):
        op.add_column(
            name, sa.Column("account_id", sa.String(12), nullable=False, server_default="")
        )
        op.add_column(name, sa.Column("region", sa.String(32), nullable=False, server_default=""))
    tags = op.create_table(
        "events_tags",
        sa.Column("resource_arn", sa.String(1600), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    assert tags is not None
    rules = sa.table(
        "events_rules", sa.column("seq", sa.Integer), sa.column("event_bus_name", sa.String),
        sa.column("name", sa.String), sa.column("arn", sa.String), sa.column("tags", sa.JSON),
        sa.column("account_id", sa.String), sa.column("region", sa.String),
    )
    targets = sa.table(
        "events_targets", sa.column("event_bus_name", sa.String),
        sa.column("rule_name", sa.String), sa.column("account_id", sa.String),
        sa.column("region", sa.String),
    )
    page = (
        sa.select(rules.c.seq, rules.c.event_bus_name, rules.c.name, rules.c.arn, rules.c.tags)
        .where(rules.c.seq > sa.bindparam("after"))
        .order_by(rules.c.seq)
        .limit(PAGE)
    )
    after = 0
    while found := bind.execute(page, {"after": after}).all():
        after = found[-1].seq
        for rule in found:
            account, region = _scope(rule.arn, defaults)
            bind.execute(
                sa.update(rules).where(rules.c.seq == rule.seq)
                .values(account_id=account, region=region)
            )
            bind.execute(
                sa.update(targets)
                .where(targets.c.event_bus_name == rule.event_bus_name,
                       targets.c.rule_name == rule.name)
                .values(account_id=account, region=region)
            )
            kept = {str(tag["Key"]): str(tag["Value"]) for tag in rule.tags or []}
            if kept:
                bind.execute(
                    sa.insert(tags),
                    [{"resource_arn": rule.arn, "key": key, "value": value}
                     for key, value in kept.items()],
                )
    # Targets of no rule (none should exist) still need an owner.
    bind.execute(
        sa.update(targets).where(targets.c.account_id == "")
        .values(account_id=defaults[0], region=defaults[1])
    )
    with op.batch_alter_table("events_rules") as batch:
        batch.drop_constraint("uq_events_rules_bus_name", type_="unique")
        batch.create_unique_constraint(
            "uq_events_rules_bus_name", ["account_id", "region", "event_bus_name", "name"]
        )
        batch.drop_column("tags")
    with op.batch_alter_table("events_targets") as batch:
        batch.drop_constraint("uq_events_targets_rule_target", type_="unique")
        batch.create_unique_constraint(
            "uq_events_targets_rule_target",
            ["account_id", "region", "event_bus_name", "rule_name", "target_id"],
        )


def downgrade() -> None:
    raise NotImplementedError("rules of several accounts or regions cannot be merged back")
