"""Apply the alembic migrations at start-up.

Each service keeps its tables in its own alembic branch (``branch_labels``) so services can
add migrations independently; start-up upgrades to every head.

A migration finds the account and region that rows stored before accounts and regions existed
belong to in ``context.config.attributes["account_id"]`` and ``["region"]`` (the server's
configured defaults). On SQLite, foreign keys are off while migrations run, so that a table
can be rebuilt without its children being deleted by the cascade; they are checked before the
commit.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An alembic Config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"


def upgrade(
    engine: Engine, account_id: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> None:
    """Bring the database at ``engine`` to the newest schema of every branch; rows from before
    accounts and regions belong to ``account_id`` and ``region``."""
    config = alembic_config()
    config.attributes.update(account_id=account_id, region=region)
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            _pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, "heads")
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"a migration broke a foreign key: {tuple(broken)}")
        finally:
            if sqlite:
                _pragma(connection, "foreign_keys=ON")


def _pragma(connection: Connection, setting: str) -> None:
    # Outside any transaction, where SQLite honours it: straight to the driver, because
    # SQLAlchemy would begin one first.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {setting}")
    finally:
        cursor.close()
