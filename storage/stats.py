"""Queries over a product's record for its delivery figures and its weekly digest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.people.stats import ReleasedChanges
from bot.release.hours import Freeze
from bot.release.model import Release
from storage.flags import FlagChange
from storage.models import CandidateEventRow, CandidateRow, ChangeRow, FlagChangeRow, FlagRow, FreezeRow, ReleaseRow


@dataclass(frozen=True)
class Marked:
    """A candidate cut urgently or declared non-viable: when, by whom, why, and what it was built on."""

    version: str
    at: dt.datetime
    by: str | None
    reason: str | None
    base_sha: str | None


def releases(session: Session, product: str, since: dt.datetime, until: dt.datetime) -> list[Release]:
    """The releases in (since, until], oldest first."""
    rows = session.scalars(
        select(ReleaseRow)
        .where(ReleaseRow.product == product, ReleaseRow.released_at > since, ReleaseRow.released_at <= until)
        .order_by(ReleaseRow.released_at, ReleaseRow.id)
    )
    return [
        Release(
            row.candidate_id, row.product, row.version, row.head_sha, row.base_sha, row.released_at,
            row.released_by, row.release_manager, row.pending_reason, row.exception, row.exception_note,
        )
        for row in rows
    ]


def released_changes(session: Session, product: str, since: dt.datetime, until: dt.datetime) -> list[ReleasedChanges]:
    """The releases in (since, until] with the commit times of the changes each took out."""
    found = releases(session, product, since, until)
    times: dict[int, list[dt.datetime]] = {}
    if found:
        rows = session.execute(
            select(ChangeRow.candidate_id, ChangeRow.committed_at).where(
                ChangeRow.candidate_id.in_([r.candidate_id for r in found]), ChangeRow.committed_at.is_not(None)
            )
        )
        for row in rows:
            times.setdefault(row.candidate_id, []).append(row.committed_at)
    return [ReleasedChanges(r.version, r.head_sha, r.released_at, tuple(times.get(r.candidate_id, ()))) for r in found]


def urgent_cuts(session: Session, product: str, since: dt.datetime, until: dt.datetime) -> list[Marked]:
    rows = session.scalars(
        select(CandidateRow)
        .where(
            CandidateRow.product == product, CandidateRow.urgent_reason.is_not(None),
            CandidateRow.created_at > since, CandidateRow.created_at <= until,
        )
        .order_by(CandidateRow.created_at)
    )
    return [Marked(row.version, row.created_at, row.created_by, row.urgent_reason, row.base_sha) for row in rows]


def nonviable(session: Session, product: str, since: dt.datetime, until: dt.datetime) -> list[Marked]:
    """Non-viable declarations in (since, until], when they were made."""
    rows = session.execute(
        select(CandidateRow.version, CandidateRow.base_sha, CandidateEventRow.at, CandidateEventRow.actor, CandidateEventRow.detail)
        .join(CandidateEventRow, CandidateEventRow.candidate_id == CandidateRow.id)
        .where(
            CandidateRow.product == product, CandidateEventRow.kind == "non_viable",
            CandidateEventRow.at > since, CandidateEventRow.at <= until,
        )
        .order_by(CandidateEventRow.at)
    )
    return [Marked(r.version, r.at, r.actor, (r.detail or {}).get("reason"), r.base_sha) for r in rows]


def flag_changes(session: Session, product: str, environments: list[str], since: dt.datetime, until: dt.datetime) -> list[FlagChange]:
    """Changes to the product's flags in the given environments in (since, until], oldest first."""
    rows = session.scalars(
        select(FlagChangeRow)
        .join(FlagRow, FlagRow.key == FlagChangeRow.flag_key)
        .where(
            FlagRow.product == product, FlagChangeRow.environment.in_(environments),
            FlagChangeRow.at > since, FlagChangeRow.at <= until,
        )
        .order_by(FlagChangeRow.at, FlagChangeRow.id)
    )
    return [FlagChange(r.flag_key, r.environment, r.at, r.actor, r.action, r.before, r.after, r.reason, r.approver) for r in rows]


def freezes(session: Session, product: str, since: dt.datetime, until: dt.datetime) -> list[Freeze]:
    """Freezes of the product (or of all) in force at some moment of (since, until]."""
    rows = session.scalars(
        select(FreezeRow)
        .where(or_(FreezeRow.scope == product, FreezeRow.scope == "all"), FreezeRow.starts_at <= until, FreezeRow.ends_at > since)
        .order_by(FreezeRow.starts_at)
    )
    return [Freeze(row.id, row.scope, row.starts_at, row.ends_at, row.reason, row.created_by) for row in rows]
