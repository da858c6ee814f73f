"""Queries on feature flags, their per-environment flagd definitions, changes, approval requests and version."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.flags.definitions import initial
from bot.flags.model import Flag, FlagType
from storage.models import FlagChangeRow, FlagRequestRow, FlagRow, FlagStateRow, FlagVersionRow
from storage.upsert import insert_or_replace


@dataclass(frozen=True)
class FlagChange:
    flag_key: str
    environment: str | None
    at: dt.datetime
    actor: str
    action: str
    before: dict | None
    after: dict | None
    reason: str | None
    approver: str | None


@dataclass(frozen=True)
class FlagRequest:
    id: int
    flag_key: str
    environment: str
    action: str
    after: dict
    requested_by: str
    state: str
    decided_by: str | None
    created_at: dt.datetime


def version(session: Session) -> int:
    return session.scalar(select(FlagVersionRow.version).where(FlagVersionRow.id == 1))


def bump_version(session: Session) -> None:
    session.execute(update(FlagVersionRow).where(FlagVersionRow.id == 1).values(version=FlagVersionRow.version + 1))


def get(session: Session, key: str, *, lock: bool = False) -> Flag | None:
    query = select(FlagRow).where(FlagRow.key == key)
    row = session.scalars(query.with_for_update() if lock else query).first()
    if row is None:
        return None
    states = session.scalars(select(FlagStateRow).where(FlagStateRow.flag_key == key))
    return _flag(row, {s.environment: s.definition for s in states})


def _flag(row: FlagRow, states: dict[str, dict]) -> Flag:
    return Flag(
        key=row.key, type=FlagType(row.type), description=row.description, owner=row.owner, product=row.product,
        created_by=row.created_by, created_at=row.created_at, variants=row.variants, states=states,
        archived=row.archived_at is not None,
    )


def all_flags(session: Session) -> list[Flag]:
    rows = session.scalars(select(FlagRow).order_by(FlagRow.key)).all()
    states: dict[str, dict[str, dict]] = {}
    for s in session.scalars(select(FlagStateRow)):
        states.setdefault(s.flag_key, {})[s.environment] = s.definition
    return [_flag(row, states.get(row.key, {})) for row in rows]


def products(session: Session) -> dict[str, str | None]:
    """Every flag's product (whose freezes apply to it)."""
    return dict(session.execute(select(FlagRow.key, FlagRow.product)).all())


def environment_definitions(session: Session, environment: str) -> dict[str, dict]:
    """Every live flag of the environment; a flag without a state row there serves off."""
    live = session.execute(select(FlagRow.key, FlagRow.variants).where(FlagRow.archived_at.is_(None))).all()
    rows = session.scalars(select(FlagStateRow).where(FlagStateRow.environment == environment))
    found = {row.flag_key: row.definition for row in rows}
    return {key: found.get(key) or initial(variants) for key, variants in live}


def create(session: Session, flag: Flag) -> None:
    session.add(
        FlagRow(
            key=flag.key, type=flag.type, description=flag.description, owner=flag.owner, product=flag.product,
            created_by=flag.created_by, created_at=flag.created_at, variants=flag.variants,
        )
    )
    session.flush()


def set_definition(session: Session, key: str, environment: str, definition: dict, by: str, at: dt.datetime) -> None:
    values = {"flag_key": key, "environment": environment, "definition": definition, "updated_at": at, "updated_by": by}
    insert_or_replace(session, FlagStateRow, values, ["flag_key", "environment"])


def set_variants(session: Session, key: str, variants: dict | None) -> None:
    session.execute(update(FlagRow).where(FlagRow.key == key).values(variants=variants))


def unarchive(session: Session, key: str) -> None:
    session.execute(update(FlagRow).where(FlagRow.key == key).values(archived_at=None))


def set_owner(session: Session, key: str, owner: str) -> None:
    session.execute(update(FlagRow).where(FlagRow.key == key).values(owner=owner))


def archive(session: Session, key: str, at: dt.datetime) -> None:
    session.execute(update(FlagRow).where(FlagRow.key == key).values(archived_at=at))


def record_change(session: Session, change: FlagChange) -> None:
    session.add(FlagChangeRow(**change.__dict__))


def changes(session: Session, key: str, limit: int = 50) -> list[FlagChange]:
    rows = session.scalars(
        select(FlagChangeRow).where(FlagChangeRow.flag_key == key).order_by(FlagChangeRow.id.desc()).limit(limit)
    )
    return [
        FlagChange(r.flag_key, r.environment, r.at, r.actor, r.action, r.before, r.after, r.reason, r.approver)
        for r in rows
    ]


def turned_off_since(session: Session, key: str, environment: str, since: dt.datetime) -> bool:
    query = select(FlagChangeRow.id).where(
        FlagChangeRow.flag_key == key, FlagChangeRow.environment == environment,
        FlagChangeRow.action == "off", FlagChangeRow.at >= since,
    )
    return session.execute(query.limit(1)).first() is not None


def add_request(session: Session, key: str, environment: str, action: str, after: dict, by: str, at: dt.datetime) -> int:
    row = FlagRequestRow(flag_key=key, environment=environment, action=action, after=after, requested_by=by, created_at=at)
    session.add(row)
    session.flush()
    return row.id


def get_request(session: Session, request_id: int) -> FlagRequest | None:
    row = session.get(FlagRequestRow, request_id)
    if row is None:
        return None
    return FlagRequest(
        row.id, row.flag_key, row.environment, row.action, row.after, row.requested_by, row.state, row.decided_by, row.created_at
    )


def decide_request(session: Session, request_id: int, state: str, by: str, at: dt.datetime) -> bool:
    """True for the one click that decides; every later click finds it decided."""
    result = session.execute(
        update(FlagRequestRow)
        .where(FlagRequestRow.id == request_id, FlagRequestRow.state == "pending")
        .values(state=state, decided_by=by, decided_at=at)
    )
    return result.rowcount == 1


class VersionProbe:
    """The flag store's version, read before every evaluation, so it skips the ORM: the
    primary-key read compiled once, on a bare pooled connection (about 10 µs on SQLite)."""

    def __init__(self, db):
        query = select(FlagVersionRow.version).where(FlagVersionRow.id == 1)
        self._sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        self._engine = db.engine
        file = db.url.database if db.is_sqlite else None
        self._sqlite_file = file if file not in (None, "", ":memory:") else None
        self._no_wait = threading.local()

    def read(self) -> int:
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(self._sql)
                return cursor.fetchone()[0]
            finally:
                cursor.close()
        finally:
            connection.close()  # back to the pool, its transaction (PostgreSQL) rolled back

    def read_without_waiting(self) -> int | None:
        """On a SQLite file, the same read on a connection that never waits for a lock (in WAL mode
        readers do not wait for writers); None on PostgreSQL or when the file is busy."""
        if self._sqlite_file is None:
            return None
        try:
            connection = getattr(self._no_wait, "connection", None)
            if connection is None:
                connection = self._no_wait.connection = sqlite3.connect(self._sqlite_file, timeout=0, isolation_level=None)
            return connection.execute(self._sql).fetchone()[0]
        except sqlite3.Error:
            return None
