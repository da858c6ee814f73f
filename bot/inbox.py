"""Incoming Slack deliveries: each Events API delivery takes effect once."""

from __future__ import annotations

import datetime as dt

import storage.slack_events
from bot.clock import Clock
from storage import Database

REDELIVERY_WINDOW = dt.timedelta(hours=2)


def first_delivery(db: Database, clock: Clock, event_id: str) -> bool:
    """True the first time an event id is seen; Slack redelivers for up to an hour."""
    now = clock.now()
    with db.transaction() as session:
        return storage.slack_events.claim(session, event_id, now)


def forget_old_deliveries(db: Database, clock: Clock) -> int:
    with db.transaction() as session:
        return storage.slack_events.forget_older_than(session, clock.now() - REDELIVERY_WINDOW)
