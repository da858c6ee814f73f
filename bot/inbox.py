"""Incoming Slack deliveries: each Events API delivery, and each signed HTTP request, takes effect once."""

from __future__ import annotations

import datetime as dt
import hashlib

import storage.slack_events
from bot.clock import Clock
from storage import Database

REDELIVERY_WINDOW = dt.timedelta(hours=2)
# A signature is accepted for five minutes either side of its timestamp; twice that covers clock skew.
REPLAY_WINDOW = dt.timedelta(minutes=10)


def first_delivery(db: Database, clock: Clock, event_id: str) -> bool:
    """True the first time an event id is seen; Slack redelivers for up to an hour."""
    now = clock.now()
    with db.transaction() as session:
        return storage.slack_events.claim(session, event_id, now)


def first_signed_request(db: Database, clock: Clock, timestamp: str, signature: str) -> bool:
    """True the first time this (timestamp, signature) arrives, on any replica. The signature is an
    HMAC of the timestamp and the body, so the pair names the exact signed request."""
    digest = hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()
    with db.transaction() as session:
        return storage.slack_events.claim_request(session, digest, clock.now())


def forget_old_deliveries(db: Database, clock: Clock) -> int:
    with db.transaction() as session:
        return storage.slack_events.forget_older_than(session, clock.now() - REDELIVERY_WINDOW)


def forget_old_requests(db: Database, clock: Clock) -> int:
    with db.transaction() as session:
        return storage.slack_events.forget_requests_older_than(session, clock.now() - REPLAY_WINDOW)
