"""Queries on release candidates, their changes, sign-offs, delegations and events."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.release.model import IN_PROGRESS, Candidate, CandidateState, Change, Trigger
from storage.models import CandidateEventRow, CandidateRow, ChangeRow, DelegationRow


def _load(session: Session, row: CandidateRow) -> Candidate:
    changes = session.scalars(select(ChangeRow).where(ChangeRow.candidate_id == row.id).order_by(ChangeRow.position))
    delegations = session.scalars(select(DelegationRow).where(DelegationRow.candidate_id == row.id))
    return Candidate(
        id=row.id,
        product=row.product,
        version=row.version,
        state=CandidateState(row.state),
        trigger=Trigger(row.trigger),
        release_manager=row.release_manager,
        head_sha=row.head_sha,
        base_sha=row.base_sha,
        created_at=row.created_at,
        created_by=row.created_by,
        changes=tuple(
            Change(c.sha, c.author_email, c.author_name, c.subject, c.engineer, c.verified_by, c.verified_at)
            for c in changes
        ),
        delegations={d.engineer: d.delegate for d in delegations},
        manager_choice=row.manager_choice,
        urgent_reason=row.urgent_reason,
        superseded_by=row.superseded_by,
        nonviable_reason=row.nonviable_reason,
        nonviable_next_steps=row.nonviable_next_steps,
        nonviable_by=row.nonviable_by,
        revision=row.revision,
    )


def get(session: Session, candidate_id: int, *, lock: bool = False) -> Candidate | None:
    """With lock, the candidate's row stays locked until commit, so changes to one candidate queue up."""
    query = select(CandidateRow).where(CandidateRow.id == candidate_id)
    row = session.scalars(query.with_for_update() if lock else query).first()
    return _load(session, row) if row else None


def in_progress(session: Session, product: str, *, lock: bool = False) -> Candidate | None:
    query = select(CandidateRow).where(CandidateRow.product == product, CandidateRow.state.in_(list(IN_PROGRESS)))
    row = session.scalars(query.with_for_update() if lock else query).first()
    return _load(session, row) if row else None


def latest(session: Session, product: str) -> Candidate | None:
    row = session.scalars(
        select(CandidateRow).where(CandidateRow.product == product).order_by(CandidateRow.id.desc()).limit(1)
    ).first()
    return _load(session, row) if row else None


def newest_first(session: Session, product: str, limit: int) -> list[Candidate]:
    rows = session.scalars(
        select(CandidateRow).where(CandidateRow.product == product).order_by(CandidateRow.id.desc()).limit(limit)
    )
    return [_load(session, row) for row in rows]


def last_released_head(session: Session, product: str) -> str | None:
    return session.scalars(
        select(CandidateRow.head_sha)
        .where(CandidateRow.product == product, CandidateRow.state == CandidateState.RELEASED)
        .order_by(CandidateRow.id.desc())
        .limit(1)
    ).first()


def count_versions_with_prefix(session: Session, product: str, prefix: str) -> int:
    return session.scalar(
        select(func.count(CandidateRow.id)).where(CandidateRow.product == product, CandidateRow.version.startswith(prefix))
    )


def recent_stints(session: Session, product: str, since: dt.datetime) -> Counter[str]:
    rows = session.scalars(
        select(CandidateRow.release_manager).where(CandidateRow.product == product, CandidateRow.created_at >= since)
    )
    return Counter(rows)


def verified_changes(session: Session, candidate_id: int) -> dict[str, tuple[str, dt.datetime]]:
    """sha -> (verified_by, verified_at) of the candidate's verified changes."""
    rows = session.execute(
        select(ChangeRow.sha, ChangeRow.verified_by, ChangeRow.verified_at).where(
            ChangeRow.candidate_id == candidate_id, ChangeRow.verified_by.is_not(None)
        )
    )
    return {row.sha: (row.verified_by, row.verified_at) for row in rows}


def insert(session: Session, candidate: Candidate) -> int:
    """Store a new candidate with its changes and delegations; returns its id."""
    row = CandidateRow(
        product=candidate.product,
        version=candidate.version,
        state=candidate.state,
        trigger=candidate.trigger,
        release_manager=candidate.release_manager,
        manager_choice=candidate.manager_choice,
        head_sha=candidate.head_sha,
        base_sha=candidate.base_sha,
        created_at=candidate.created_at,
        created_by=candidate.created_by,
        urgent_reason=candidate.urgent_reason,
        revision=1,
    )
    session.add(row)
    session.flush()
    session.add_all(
        ChangeRow(
            candidate_id=row.id,
            position=position,
            sha=change.sha,
            author_email=change.author_email,
            author_name=change.author_name,
            subject=change.subject,
            engineer=change.engineer,
            verified_by=change.verified_by,
            verified_at=change.verified_at,
        )
        for position, change in enumerate(candidate.changes)
    )
    session.add_all(
        DelegationRow(candidate_id=row.id, engineer=engineer, delegate=delegate, created_at=candidate.created_at)
        for engineer, delegate in candidate.delegations.items()
    )
    session.flush()
    return row.id


def update_candidate(session: Session, candidate_id: int, **values) -> None:
    """Change the candidate's columns and bump its revision, which orders its renderings."""
    session.execute(
        update(CandidateRow).where(CandidateRow.id == candidate_id).values(revision=CandidateRow.revision + 1, **values)
    )


def sign_off(session: Session, candidate_id: int, engineers: list[str | None], by: str, at: dt.datetime) -> int:
    """Mark the engineers' pending changes verified; the count of changes newly signed."""
    signed = 0
    for engineer in engineers:
        owner = ChangeRow.engineer.is_(None) if engineer is None else ChangeRow.engineer == engineer
        signed += session.execute(
            update(ChangeRow)
            .where(ChangeRow.candidate_id == candidate_id, owner, ChangeRow.verified_by.is_(None))
            .values(verified_by=by, verified_at=at)
        ).rowcount
    return signed


def set_delegate(session: Session, candidate_id: int, engineer: str, delegate: str, at: dt.datetime) -> None:
    row = session.get(DelegationRow, (candidate_id, engineer))
    if row is None:
        session.add(DelegationRow(candidate_id=candidate_id, engineer=engineer, delegate=delegate, created_at=at))
    else:
        row.delegate, row.created_at = delegate, at
    session.flush()


def record_event(session: Session, candidate_id: int, at: dt.datetime, actor: str | None, kind: str, detail: dict) -> None:
    session.add(CandidateEventRow(candidate_id=candidate_id, at=at, actor=actor, kind=kind, detail=detail))


def lock_product(session: Session, product: str) -> None:
    """Serialize cuts of one product across processes (SQLite's BEGIN IMMEDIATE already does)."""
    if session.bind.dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"releasebot:cut:{product}"))))
