"""The outbox of owed Slack messages; a lease per lane keeps each lane in order across processes.

An item is owed (neither delivered nor set aside), delivered, or set aside: Slack refused it in a
way retrying cannot heal (the bot is not in the channel, the message is too long, a scope is
missing). Set-aside items are kept for people to see, and no longer hold back their lane.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage import leases
from storage.models import DeliveryAlertRow, LeaseRow, OutboxRow, SlackMessageRow
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


@dataclass(frozen=True)
class SetAsideItem:
    """A message Slack would not take, for `releasebot doctor` and the people who can fix it."""

    id: int
    lane: str
    kind: str
    channel: str | None
    user: str | None
    error: str
    set_aside_at: dt.datetime
    created_at: dt.datetime
    candidate_id: int | None


def _owed():
    return and_(OutboxRow.delivered_at.is_(None), OutboxRow.set_aside_at.is_(None))


def enqueue(session: Session, lane: str, kind: str, payload: dict, now: dt.datetime, candidate_id: int | None = None) -> None:
    session.add(OutboxRow(lane=lane, kind=kind, payload=payload, candidate_id=candidate_id, created_at=now, next_attempt_at=now))


def lease_name(lane: str) -> str:
    return f"outbox:{lane}"


def due_lanes(session: Session, now: dt.datetime, limit: int) -> list[str]:
    """Lanes with a message due and no live lease, oldest first."""
    query = (
        select(OutboxRow.lane, func.min(OutboxRow.id).label("first"))
        .outerjoin(LeaseRow, LeaseRow.name == literal("outbox:") + OutboxRow.lane)
        .where(_owed(), OutboxRow.next_attempt_at <= now, or_(LeaseRow.name.is_(None), leases.is_free(now)))
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
    query = select(OutboxRow).where(OutboxRow.lane == lane, _owed()).order_by(OutboxRow.id)
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


def set_aside_item(session: Session, item_id: int, now: dt.datetime, error: str, target: str | None) -> None:
    """Kept with its error; `sending_since` stays, so a later notice knows this post may exist."""
    session.execute(update(OutboxRow).where(OutboxRow.id == item_id).values(set_aside_at=now, error=error, target=target))


def set_aside(session: Session, *, unresolved: bool = False) -> list[SetAsideItem]:
    """Every set-aside message, oldest first; `unresolved`: only those whose lane has delivered
    nothing since (once a later message of the lane went out, the cause was fixed)."""
    query = select(OutboxRow).where(OutboxRow.set_aside_at.is_not(None), OutboxRow.delivered_at.is_(None)).order_by(OutboxRow.id)
    if unresolved:
        later = aliased(OutboxRow)
        query = query.where(
            ~select(later.id).where(later.lane == OutboxRow.lane, later.id > OutboxRow.id, later.delivered_at.is_not(None)).exists()
        )
    return [
        SetAsideItem(
            row.id, row.lane, row.kind,
            row.payload.get("channel") or (row.target if row.kind != "dm" else None),
            row.payload.get("user"), row.error or "", row.set_aside_at, row.created_at, row.candidate_id,
        )
        for row in session.scalars(query)
    ]


def set_aside_counts(session: Session) -> dict[str, int]:
    query = (
        select(OutboxRow.error, func.count(OutboxRow.id))
        .where(OutboxRow.set_aside_at.is_not(None), OutboxRow.delivered_at.is_(None))
        .group_by(OutboxRow.error)
    )
    return {error or "": count for error, count in session.execute(query)}


def set_aside_notices(session: Session, lane: str) -> list[tuple[int, str | None, str, dt.datetime | None]]:
    """(id, channel, error, since when it may have been posted) of the lane's set-aside notices, oldest first."""
    query = (
        select(OutboxRow.id, OutboxRow.target, OutboxRow.error, OutboxRow.sending_since)
        .where(OutboxRow.lane == lane, OutboxRow.kind == "notice", OutboxRow.set_aside_at.is_not(None))
        .order_by(OutboxRow.id)
    )
    return [(row.id, row.target, row.error or "", row.sending_since) for row in session.execute(query)]


def first_alert(session: Session, scope: str, error: str, now: dt.datetime) -> bool:
    """Record that people were told of (scope, error); False when someone already told them."""
    values = {"scope": scope[:96], "error": error[:64], "told_at": now}
    return insert_or_ignore(session, DeliveryAlertRow, values, ["scope", "error"])


def backlog(session: Session) -> tuple[int, dt.datetime | None]:
    """How many messages are owed, and since when the oldest has been waiting."""
    count, oldest = session.execute(
        select(func.count(OutboxRow.id), func.min(OutboxRow.created_at)).where(_owed())
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


def forget_message(session: Session, key: str) -> None:
    session.execute(delete(SlackMessageRow).where(SlackMessageRow.key == key))


def forget_delivered_before(session: Session, cutoff: dt.datetime, set_aside_cutoff: dt.datetime | None = None) -> int:
    """Delivered messages before `cutoff`, and set-aside ones before `set_aside_cutoff`."""
    done = and_(OutboxRow.delivered_at.is_not(None), OutboxRow.delivered_at < cutoff)
    if set_aside_cutoff is not None:
        done = or_(done, and_(OutboxRow.set_aside_at.is_not(None), OutboxRow.set_aside_at < set_aside_cutoff))
    return session.execute(delete(OutboxRow).where(done)).rowcount
