"""Queries behind the App Home that the flag and candidate modules do not already answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.release.model import IN_PROGRESS
from storage.flags import FlagRequest
from storage.models import CandidateRow, ChangeRow, DelegationRow, FlagChangeRow, FlagRequestRow


@dataclass(frozen=True)
class CandidateSummary:
    """A candidate in progress as the Home needs it: counts per engineer, never its changes (a Home
    is rendered for each of a big candidate's engineers whenever it changes)."""

    id: int
    product: str
    version: str
    state: str
    release_manager: str
    created_at: dt.datetime
    changes: dict[str | None, tuple[int, int]] = field(default_factory=dict)  # engineer -> (changes, verified), in order
    delegations: dict[str, str] = field(default_factory=dict)


def in_progress_summaries(session: Session) -> list[CandidateSummary]:
    rows = session.scalars(select(CandidateRow).where(CandidateRow.state.in_(list(IN_PROGRESS))).order_by(CandidateRow.id)).all()
    ids = [row.id for row in rows]
    counts: dict[int, dict[str | None, tuple[int, int]]] = {i: {} for i in ids}
    delegations: dict[int, dict[str, str]] = {i: {} for i in ids}
    if ids:
        per_engineer = (
            select(ChangeRow.candidate_id, ChangeRow.engineer, func.count(ChangeRow.id), func.count(ChangeRow.verified_by))
            .where(ChangeRow.candidate_id.in_(ids))
            .group_by(ChangeRow.candidate_id, ChangeRow.engineer)
            .order_by(ChangeRow.candidate_id, func.min(ChangeRow.position))
        )
        for candidate_id, engineer, total, verified in session.execute(per_engineer):
            counts[candidate_id][engineer] = (total, verified)
        for row in session.scalars(select(DelegationRow).where(DelegationRow.candidate_id.in_(ids))):
            delegations[row.candidate_id][row.engineer] = row.delegate
    return [
        CandidateSummary(
            row.id, row.product, row.version, str(row.state), row.release_manager, row.created_at, counts[row.id], delegations[row.id]
        )
        for row in rows
    ]


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
