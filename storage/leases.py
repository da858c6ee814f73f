"""Named leases shared by every process on the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.models import LeaseRow
from storage.upsert import insert_or_ignore


def is_free(now: dt.datetime):
    return or_(LeaseRow.held_until.is_(None), LeaseRow.held_until < now)


def claim(session: Session, name: str, token: str, now: dt.datetime, until: dt.datetime) -> bool:
    """Take the lease unless a live one is held by someone else."""
    insert_or_ignore(session, LeaseRow, {"name": name}, ["name"])
    result = session.execute(
        update(LeaseRow).where(LeaseRow.name == name, is_free(now)).values(token=token, held_until=until)
    )
    return result.rowcount == 1


def release(session: Session, name: str, token: str) -> None:
    session.execute(
        update(LeaseRow).where(LeaseRow.name == name, LeaseRow.token == token).values(token=None, held_until=None)
    )


def extend(session: Session, name: str, token: str, until: dt.datetime) -> bool:
    """Keep a lease while its work goes on; False when it was lost (it ran out and was taken)."""
    result = session.execute(update(LeaseRow).where(LeaseRow.name == name, LeaseRow.token == token).values(held_until=until))
    return result.rowcount == 1


def is_held(session: Session, name: str, now: dt.datetime, *, lock: bool = False) -> bool:
    """Whether a live lease is held. With `lock`, the row stays locked until the transaction ends, so
    nobody claims the lease meanwhile: what is decided on "not held" stays true until the commit."""
    if lock:
        insert_or_ignore(session, LeaseRow, {"name": name}, ["name"])
    query = select(LeaseRow.held_until).where(LeaseRow.name == name)
    held_until = session.scalar(query.with_for_update() if lock else query)
    return held_until is not None and held_until >= now
