"""Production releases."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.release.model import Release
from storage.models import ReleaseRow


def record(session: Session, release: Release) -> None:
    session.add(ReleaseRow(**release.__dict__))


def newest_first(session: Session, product: str, limit: int) -> list[Release]:
    rows = session.scalars(select(ReleaseRow).where(ReleaseRow.product == product).order_by(ReleaseRow.id.desc()).limit(limit))
    return [
        Release(
            row.candidate_id, row.product, row.version, row.head_sha, row.base_sha, row.released_at,
            row.released_by, row.release_manager, row.pending_reason, row.exception, row.exception_note,
        )
        for row in rows
    ]
