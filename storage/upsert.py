"""INSERT … ON CONFLICT for the two databases we run on: replicas racing to write one key must not fail."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _insert(session: Session):
    return (postgresql if session.bind.dialect.name == "postgresql" else sqlite).insert


def insert_or_ignore(session: Session, model, values: dict, key: list[str]) -> bool:
    """True when the row was inserted, False when the key was already there."""
    statement = _insert(session)(model).values(**values).on_conflict_do_nothing(index_elements=key)
    return session.execute(statement.returning(*(getattr(model, column) for column in key))).first() is not None


def insert_or_replace(session: Session, model, values: dict, key: list[str]) -> None:
    statement = _insert(session)(model).values(**values)
    changes = {column: statement.excluded[column] for column in values if column not in key}
    session.execute(statement.on_conflict_do_update(index_elements=key, set_=changes))


def insert_if_new(session: Session, model, values: dict, key: list[str]) -> bool:
    """Insert unless the key exists; True when this statement inserted the row (told by RETURNING:
    psycopg's rowcount for an ORM insert is -1)."""
    statement = _insert(session)(model).values(**values).on_conflict_do_nothing(index_elements=key)
    returned = list(model.__table__.primary_key.columns)[0]
    return session.execute(statement.returning(returned)).first() is not None
