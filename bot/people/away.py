"""Away and pre-arranged delegation: the rules, with no Slack and no SQL.

A person away is never picked as release manager, and their changes in a candidate cut while
they are away are verified by their delegate, else by the release manager.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.errors import Refused
from storage.slack_users import SlackUser


@dataclass(frozen=True)
class Away:
    user: str
    until: dt.datetime
    delegate: str | None
    since: dt.datetime

    def active(self, now: dt.datetime) -> bool:
        return now < self.until


def check_delegate(user: str, delegate_id: str, delegate: SlackUser | None) -> None:
    """The delegate must be someone else who can verify: a real, active Slack user."""
    if delegate_id == user:
        raise Refused("Name a teammate other than yourself to verify your changes while you are away.")
    if delegate is None:
        raise Refused(f"I cannot find <@{delegate_id}> in this workspace.")
    if not delegate.active_person:
        raise Refused(f"<@{delegate_id}> is a bot or a deactivated account and cannot verify changes for you.")


def verifier_while_away(engineer: str, away: Mapping[str, Away], manager: str) -> str | None:
    """Who verifies for an away engineer: their delegate unless the delegate is away too, else the
    release manager; None when that is the engineer themself (an away person who cut by hand)."""
    plan = away.get(engineer)
    if plan is None:
        return None
    chosen = plan.delegate if plan.delegate and plan.delegate not in away else manager
    return None if chosen == engineer else chosen


def away_delegations(engineers: Iterable[str], away: Mapping[str, Away], manager: str) -> dict[str, str]:
    """engineer -> delegate for the engineers of a new candidate who are away at its cut."""
    chosen = {engineer: verifier_while_away(engineer, away, manager) for engineer in engineers}
    return {engineer: delegate for engineer, delegate in chosen.items() if delegate}


def describe_until(instant: dt.datetime, timezone: str | None, fallback: str) -> str:
    """'Thursday December 24 17:00 CET', in the person's own time zone."""
    return instant.astimezone(ZoneInfo(timezone or fallback)).strftime("%A %B %-d %Y %H:%M %Z")
