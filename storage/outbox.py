"""The outbox of owed Slack messages; a lease per lane keeps each lane in order across processes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session

from storage import leases
from storage.models import LeaseRow, OutboxRow, SlackMessageRow
from storage.upsert import insert_or_ignore


@dataclass(frozen=True)
class OutboxItem:
    id: int
    lane: str
    kind: str
    candidate_id: int | None
    payload: dict
    attempts: int
    next_attempt_at: dt.datetime
    created_at: dt.datetime
    sending_since: dt.datetime | None


def enqueue(session: Session, lane: str, kind: str, payload: dict, now: dt.datetime, candidate_id: int | None = None) -> None:
    session.add(OutboxRow(lane=lane, kind=kind, payload=payload, candidate_id=candidate_id, created_at=now, next_attempt_at=now))


def lease_name(lane: str) -> str:
    return f"outbox:{lane}"


def due_lanes(session: Session, now: dt.datetime, limit: int) -> list[str]:
    """Lanes with a message due and no live lease, oldest first."""
    query = (
        select(OutboxRow.lane, func.min(OutboxRow.id).label("first"))
        .outerjoin(LeaseRow, LeaseRow.name == literal("outbox:") + OutboxRow.lane)
        .where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= now, or_(LeaseRow.name.is_(None), leases.is_free(now)))
        .group_by(OutboxRow.lane)
        .order_by("first")
        .limit(limit)
    )
    return [row.lane for row in session.execute(query)]


def claim_lane(session: Session, lane: str, token: str, now: dt.datetime, until: dt.datetime) -> bool:
    return leases.claim(session, lease_name(lane), token, now, until)


def extend_lane(session: Session, lane: str, token: str, until: dt.datetime) -> bool:
    return leases.extend(session, lease_name(lane), token, until)


def release_lane(session: Session, lane: str, token: str) -> None:
    leases.release(session, lease_name(lane), token)


def pending_in_lane(session: Session, lane: str) -> list[OutboxItem]:
    query = select(OutboxRow).where(OutboxRow.lane == lane, OutboxRow.delivered_at.is_(None)).order_by(OutboxRow.id)
    return [
        OutboxItem(
            row.id, row.lane, row.kind, row.candidate_id, row.payload, row.attempts, row.next_attempt_at,
            row.created_at, row.sending_since,
        )
        for row in session.scalars(query)
    ]


def mark_sending(session: Session, item_id: int, now: dt.datetime) -> None:
    """Written before the call to Slack: if the process dies, the next sender knows to look first."""
    session.execute(update(OutboxRow).where(OutboxRow.id == item_id, OutboxRow.sending_since.is_(None)).values(sending_since=now))


def mark_delivered(session: Session, item_ids: list[int], now: dt.datetime, note: str | None = None) -> None:
    session.execute(update(OutboxRow).where(OutboxRow.id.in_(item_ids)).values(delivered_at=now, error=note))


def postpone(session: Session, item_id: int, retry_at: dt.datetime, error: str, *, maybe_sent: bool) -> None:
    """Try again later; when Slack may have taken the message (a timeout, a 5xx), the mark that a
    send began stays, so the next attempt looks for it first."""
    values = {"attempts": OutboxRow.attempts + 1, "next_attempt_at": retry_at, "error": error}
    if not maybe_sent:
        values["sending_since"] = None
    session.execute(update(OutboxRow).where(OutboxRow.id == item_id).values(**values))


def backlog(session: Session) -> tuple[int, dt.datetime | None]:
    """How many messages are owed, and since when the oldest has been waiting."""
    count, oldest = session.execute(
        select(func.count(OutboxRow.id), func.min(OutboxRow.created_at)).where(OutboxRow.delivered_at.is_(None))
    ).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.timezone.utc)
    return count, oldest


def message_location(session: Session, key: str) -> tuple[str, str] | None:
    row = session.get(SlackMessageRow, key)
    return (row.channel, row.ts) if row else None


def remember_message(session: Session, key: str, channel: str, ts: str) -> None:
    """The first post of a message wins; a second (a doubled post) is not recorded over it."""
    insert_or_ignore(session, SlackMessageRow, {"key": key, "channel": channel, "ts": ts}, ["key"])


def forget_delivered_before(session: Session, cutoff: dt.datetime) -> int:
    return session.execute(
        delete(OutboxRow).where(and_(OutboxRow.delivered_at.is_not(None), OutboxRow.delivered_at < cutoff))
    ).rowcount
