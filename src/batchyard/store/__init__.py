"""Persistence on SQLAlchemy Core: SQLite (WAL) by default, PostgreSQL for clusters."""

from batchyard.store.store import Store

__all__ = ["Store"]
