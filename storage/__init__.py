"""Persistence: the only package that knows SQL (models, queries, Alembic migrations)."""

from storage.db import Database, DatabaseUnavailable, SchemaState

__all__ = ["Database", "DatabaseUnavailable", "SchemaState"]
