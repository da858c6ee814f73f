"""Which Slack event deliveries have been handled."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import SlackEvent


def claim(session: Session, event_id: str, now: dt.datetime) -> bool:
    """Record the event; False when it was recorded before (a redelivery)."""
    try:
        with session.begin_nested():
            session.execute(insert(SlackEvent).values(event_id=event_id, received_at=now))
    except IntegrityError:
        return False
    return True


def forget_older_than(session: Session, cutoff: dt.datetime) -> int:
    """Slack stops redelivering after about an hour; older ids need not be kept."""
    return session.execute(delete(SlackEvent).where(SlackEvent.received_at < cutoff)).rowcount
