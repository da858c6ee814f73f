"""Cached Slack users and email lookups."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import EmailLookupRow, SlackUserRow
from storage.upsert import insert_or_replace


@dataclass(frozen=True)
class SlackUser:
    user_id: str
    name: str
    email: str | None
    timezone: str | None
    is_bot: bool
    deleted: bool

    @property
    def active_person(self) -> bool:
        """Bots and deactivated users are never picked or asked."""
        return not self.is_bot and not self.deleted


def users(session: Session, user_ids: list[str], fresh_since: dt.datetime) -> dict[str, SlackUser]:
    rows = session.scalars(
        select(SlackUserRow).where(SlackUserRow.user_id.in_(user_ids), SlackUserRow.fetched_at >= fresh_since)
    )
    return {row.user_id: SlackUser(row.user_id, row.name, row.email, row.timezone, row.is_bot, row.deleted) for row in rows}


def remember_user(session: Session, user: SlackUser, now: dt.datetime) -> None:
    values = {
        "user_id": user.user_id,
        "name": user.name,
        "email": user.email,
        "timezone": user.timezone,
        "is_bot": user.is_bot,
        "deleted": user.deleted,
        "fetched_at": now,
    }
    insert_or_replace(session, SlackUserRow, values, ["user_id"])


def email_lookups(session: Session, emails: list[str], fresh_since: dt.datetime) -> dict[str, str | None]:
    rows = session.scalars(
        select(EmailLookupRow).where(EmailLookupRow.email.in_(emails), EmailLookupRow.fetched_at >= fresh_since)
    )
    return {row.email: row.user_id for row in rows}


def remember_email(session: Session, email: str, user_id: str | None, now: dt.datetime) -> None:
    insert_or_replace(session, EmailLookupRow, {"email": email, "user_id": user_id, "fetched_at": now}, ["email"])
