"""Which Slack deliveries have been handled: Events API event ids and signed HTTP requests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import SlackEvent, SlackSignedRequest


def _first_insert(session: Session, statement) -> bool:
    """True when the row went in; False when its key was there already (whichever replica wrote it)."""
    try:
        with session.begin_nested():
            session.execute(statement)
    except IntegrityError:
        return False
    return True


def claim(session: Session, event_id: str, now: dt.datetime) -> bool:
    """Record the event; False when it was recorded before (a redelivery)."""
    return _first_insert(session, insert(SlackEvent).values(event_id=event_id, received_at=now))


def forget_older_than(session: Session, cutoff: dt.datetime) -> int:
    """Slack stops redelivering after about an hour; older ids need not be kept."""
    return session.execute(delete(SlackEvent).where(SlackEvent.received_at < cutoff)).rowcount


def claim_request(session: Session, digest: str, now: dt.datetime) -> bool:
    """Record a signed request by its digest; False when it was recorded before (a replay)."""
    return _first_insert(session, insert(SlackSignedRequest).values(digest=digest, received_at=now))


def forget_requests_older_than(session: Session, cutoff: dt.datetime) -> int:
    """A signature older than Slack's five-minute window is refused anyway; its digest need not be kept."""
    return session.execute(delete(SlackSignedRequest).where(SlackSignedRequest.received_at < cutoff)).rowcount
