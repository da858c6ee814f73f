"""Change freezes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.release.hours import Freeze
from storage.models import FreezeRow


def _freeze(row: FreezeRow) -> Freeze:
    return Freeze(row.id, row.scope, row.starts_at, row.ends_at, row.reason, row.created_by)


def active_or_future(session: Session, now: dt.datetime) -> list[Freeze]:
    rows = session.scalars(select(FreezeRow).where(FreezeRow.ends_at > now).order_by(FreezeRow.ends_at))
    return [_freeze(row) for row in rows]


def start(session: Session, scope: str, starts_at: dt.datetime, ends_at: dt.datetime, reason: str, by: str) -> Freeze:
    row = FreezeRow(scope=scope, starts_at=starts_at, ends_at=ends_at, reason=reason, created_by=by, created_at=starts_at)
    session.add(row)
    session.flush()
    return _freeze(row)


def end_now(session: Session, freeze_id: int, now: dt.datetime, by: str) -> None:
    session.execute(update(FreezeRow).where(FreezeRow.id == freeze_id).values(ends_at=now, ended_by=by))


def claim_end_announcement(session: Session, freeze_id: int) -> bool:
    """True once per freeze, however many processes ask: the caller owes the 'freeze ended' message."""
    result = session.execute(
        update(FreezeRow).where(FreezeRow.id == freeze_id, FreezeRow.end_announced.is_(False)).values(end_announced=True)
    )
    return result.rowcount == 1


def ended_unannounced(session: Session, now: dt.datetime) -> list[Freeze]:
    rows = session.scalars(select(FreezeRow).where(FreezeRow.ends_at <= now, FreezeRow.end_announced.is_(False)))
    return [_freeze(row) for row in rows]
