"""Scheduling policies: Create / Describe / List / Update / Delete in the store.

A ``fairsharePolicy`` is stored with AWS's defaults filled in (``shareDecaySeconds`` 0,
``computeReservation`` 0, ``weightFactor`` 1.0); a policy is referred to by its ARN only.
"""

from __future__ import annotations

import copy

from sqlalchemy import Connection

from batchyard.aws.caller import Caller
from batchyard.aws.documents import JsonObject
from batchyard.batch.errors import PAGER, TAG_RULES, client_error, require_name
from batchyard.batch.resources import compute_environments, store
from batchyard.batch.resources.model import (
    SCHEDULING_POLICY,
    FairsharePolicy,
    Page,
    SchedulingPolicy,
    ShareAttributes,
)
from batchyard.batch.resources.store import ResourceTags
from batchyard.store.tables.batch_resources import job_queues as queue_table
from batchyard.store.tables.batch_resources import scheduling_policies as table

MAX_SHARE_DECAY_SECONDS = 604800
MAX_COMPUTE_RESERVATION = 99
MAX_SHARES = 500
MAX_SHARE_IDENTIFIER = 255
MIN_WEIGHT = 0.0001
MAX_WEIGHT = 999.9999
MAX_ARNS = 100
LISTING = "ListSchedulingPolicies"


def get(connection: Connection, caller: Caller | None, arn: str) -> SchedulingPolicy | None:
    """The policy with ARN ``arn``, or None."""
    if not arn.startswith("arn:"):
        return None
    document = store.find(connection, table, caller, arn)
    return SchedulingPolicy.from_document(document) if document is not None else None


def _require(connection: Connection, caller: Caller, arn: str) -> SchedulingPolicy:
    policy = get(connection, caller, arn)
    if policy is None:
        raise client_error(f"Scheduling policy {arn} does not exist")
    return policy


def _overlaps(first: str, second: str) -> bool:
    def covers(prefix: str, other: str) -> bool:
        return prefix.endswith("*") and other.rstrip("*").startswith(prefix[:-1])

    return first == second or covers(first, second) or covers(second, first)


def _fairshare(policy: JsonObject) -> FairsharePolicy:
    """Validate a ``fairsharePolicy`` and return it with AWS's defaults."""
    decay = policy.get("shareDecaySeconds", 0)
    if not 0 <= decay <= MAX_SHARE_DECAY_SECONDS:
        raise client_error(f"shareDecaySeconds must be between 0 and {MAX_SHARE_DECAY_SECONDS}.")
    reservation = policy.get("computeReservation", 0)
    if not 0 <= reservation <= MAX_COMPUTE_RESERVATION:
        raise client_error(f"computeReservation must be between 0 and {MAX_COMPUTE_RESERVATION}.")
    shares = policy.get("shareDistribution") or []
    if len(shares) > MAX_SHARES:
        raise client_error(f"shareDistribution can contain at most {MAX_SHARES} entries.")
    distribution: list[ShareAttributes] = []
    for share in shares:
        identifier = share["shareIdentifier"]
        body = identifier[:-1] if identifier.endswith("*") else identifier
        if not 1 <= len(identifier) <= MAX_SHARE_IDENTIFIER or "*" in body:
            raise client_error(
                f"shareIdentifier {identifier} is invalid: it can be up to {MAX_SHARE_IDENTIFIER} "
                "characters long and only a trailing asterisk (*) is allowed."
            )
        weight = share.get("weightFactor", 1.0)
        if not MIN_WEIGHT <= weight <= MAX_WEIGHT:
            raise client_error(f"weightFactor must be between {MIN_WEIGHT} and {MAX_WEIGHT}.")
        for other in distribution:
            if _overlaps(identifier, other.share_identifier):
                raise client_error(
                    f"shareIdentifier {identifier} overlaps with {other.share_identifier}; "
                    "share identifiers and prefixes must be unique and must not overlap."
                )
        distribution.append(ShareAttributes(identifier, float(weight)))
    return FairsharePolicy(decay, reservation, tuple(distribution))


def body(
    fairshare: JsonObject | None, quota_share: JsonObject | None
) -> tuple[FairsharePolicy | None, JsonObject | None]:
    """The policy a request describes: fair share (the default) or quota share."""
    if fairshare is not None and quota_share is not None:
        raise client_error("Only one of fairsharePolicy and quotaSharePolicy can be specified.")
    if quota_share is not None:
        return None, copy.deepcopy(quota_share)
    return _fairshare(fairshare or {}), None


def new(
    caller: Caller,
    name: str,
    fairshare: JsonObject | None,
    quota_share: JsonObject | None,
    new_tags: dict[str, str],
) -> SchedulingPolicy:
    """The policy CreateSchedulingPolicy makes; raises ClientException for a bad request."""
    require_name(name, "Scheduling policy name")
    arn = caller.arn("batch", f"{SCHEDULING_POLICY}/{name}")
    policy = SchedulingPolicy(name, arn, *body(fairshare, quota_share))
    TAG_RULES.check(arn, new_tags)
    return policy


def insert(
    connection: Connection,
    caller: Caller,
    policy: SchedulingPolicy,
    tags: ResourceTags,
    new_tags: dict[str, str],
) -> None:
    """Store a new policy and its tags; refused when the name is taken."""
    if store.exists(connection, table, caller, policy.name):
        raise client_error(compute_environments.ALREADY_EXISTS)
    store.add(connection, table, caller, policy.name, policy.arn, policy.to_document())
    tags.add(connection, policy.arn, new_tags)


def update(
    connection: Connection,
    caller: Caller,
    arn: str,
    fairshare: FairsharePolicy | None,
    quota_share: JsonObject | None,
) -> SchedulingPolicy:
    """Replace the policy's body (fair share stays fair share, quota share quota share)."""
    policy = _require(connection, caller, arn)
    if (policy.quota_share_policy is not None) != (quota_share is not None):
        raise client_error("A scheduling policy can't change between fair share and quota share.")
    policy.fairshare_policy, policy.quota_share_policy = fairshare, quota_share
    store.replace(connection, table, policy.arn, policy.to_document())
    return policy


def delete(
    connection: Connection, caller: Caller, arn: str, tags: ResourceTags
) -> SchedulingPolicy:
    """Delete a policy no job queue uses."""
    policy = _require(connection, caller, arn)
    for queue in store.all_documents(connection, queue_table, caller):
        if queue.get("schedulingPolicyArn") == arn:
            raise client_error(compute_environments.HAS_QUEUES)
    store.remove(connection, table, arn)
    tags.drop(connection, arn)
    return policy


def describe(
    connection: Connection, caller: Caller, arns: list[str], tags: ResourceTags
) -> list[SchedulingPolicy]:
    """The named policies that exist, with their tags."""
    if len(arns) > MAX_ARNS:
        raise client_error(f"arns can contain at most {MAX_ARNS} entries.")
    policies = [
        SchedulingPolicy.from_document(document)
        for _, document in store.find_many(
            connection, table, caller, [a for a in arns if a.startswith("arn:")]
        )
    ]
    current = tags.get_many(connection, [p.arn for p in policies])
    for policy in policies:
        policy.tags = current.get(policy.arn, {})
    return policies


def list_page(
    connection: Connection, caller: Caller, token: str | None, size: int
) -> Page[SchedulingPolicy]:
    """One page of ListSchedulingPolicies."""
    after = PAGER.decode_int(LISTING, token)
    rows = store.page(connection, table, caller, after, size)
    policies, next_token = PAGER.keyed_page(
        LISTING, [(seq, SchedulingPolicy.from_document(d)) for seq, d in rows], size
    )
    return Page(policies, next_token)


def exists(connection: Connection, caller: Caller, arn: str) -> bool:
    """Whether ``arn`` names a policy of the caller's."""
    return get(connection, caller, arn) is not None
