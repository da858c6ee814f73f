"""People away, and the reminders already sent (claimed once per kind, candidate, person and day)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.people.away import Away
from bot.people.reminders import Sent
from storage.models import AwayRow, ReminderRow, SlackUserRow
from storage.upsert import insert_if_new, insert_or_replace


def set_away(session: Session, away: Away) -> None:
    values = {"user_id": away.user, "until": away.until, "delegate": away.delegate, "created_at": away.since}
    insert_or_replace(session, AwayRow, values, ["user_id"])


def end_away(session: Session, user: str) -> bool:
    return session.execute(delete(AwayRow).where(AwayRow.user_id == user)).rowcount > 0


def away_of(session: Session, user: str, now: dt.datetime) -> Away | None:
    row = session.get(AwayRow, user)
    return _away(row) if row is not None and row.until > now else None


def away_now(session: Session, now: dt.datetime, users: Iterable[str] | None = None) -> dict[str, Away]:
    """Everyone away at `now` (or those of `users`)."""
    query = select(AwayRow).where(AwayRow.until > now)
    if users is not None:
        query = query.where(AwayRow.user_id.in_(list(users)))
    return {row.user_id: _away(row) for row in session.scalars(query)}


def _away(row: AwayRow) -> Away:
    return Away(user=row.user_id, until=row.until, delegate=row.delegate, since=row.created_at)


def timezones(session: Session, users: Iterable[str]) -> dict[str, str | None]:
    """People's Slack time zones as last seen, however old: a reminder round never asks Slack."""
    rows = session.execute(select(SlackUserRow.user_id, SlackUserRow.timezone).where(SlackUserRow.user_id.in_(list(users))))
    return {row.user_id: row.timezone for row in rows}


def sent_for(session: Session, candidate_ids: Iterable[int]) -> set[Sent]:
    rows = session.execute(
        select(ReminderRow.kind, ReminderRow.candidate_id, ReminderRow.user_id, ReminderRow.day).where(
            ReminderRow.candidate_id.in_(list(candidate_ids))
        )
    )
    return {Sent(row.kind, row.candidate_id, row.user_id, row.day) for row in rows}


def claim(session: Session, sent: Sent, now: dt.datetime) -> bool:
    """True for the one transaction that records this reminder; a replica racing for it gets False."""
    values = {"kind": sent.kind, "candidate_id": sent.candidate_id, "user_id": sent.user, "day": sent.day, "sent_at": now}
    return insert_if_new(session, ReminderRow, values, ["kind", "candidate_id", "user_id", "day"])
