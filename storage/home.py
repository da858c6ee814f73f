"""Queries behind the App Home that the flag and candidate modules do not already answer."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.flags import FlagRequest
from storage.models import FlagChangeRow, FlagRequestRow


def pending_flag_requests(session: Session) -> list[FlagRequest]:
    rows = session.scalars(select(FlagRequestRow).where(FlagRequestRow.state == "pending").order_by(FlagRequestRow.id))
    return [
        FlagRequest(r.id, r.flag_key, r.environment, r.action, r.after, r.requested_by, r.state, r.decided_by, r.created_at)
        for r in rows
    ]


def last_state_changes(session: Session, keys: list[str]) -> dict[str, dt.datetime]:
    """When each flag's state last changed in any environment, from the audit trail (a rejected
    request is recorded there too, but changes nothing)."""
    if not keys:
        return {}
    query = (
        select(FlagChangeRow.flag_key, func.max(FlagChangeRow.at))
        .where(FlagChangeRow.flag_key.in_(keys), FlagChangeRow.environment.is_not(None), FlagChangeRow.action != "reject")
        .group_by(FlagChangeRow.flag_key)
    )
    return {key: _utc(at) for key, at in session.execute(query)}


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
