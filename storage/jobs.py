"""Claims on scheduled job runs, so each run happens once across processes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import JobRun


def claim(session: Session, job: str, scope: str, run_key: str, now: dt.datetime) -> int | None:
    """The new run's id, or None when another process already claimed this run."""
    try:
        with session.begin_nested():
            return session.execute(
                insert(JobRun).values(job=job, scope=scope, run_key=run_key, started_at=now).returning(JobRun.id)
            ).scalar_one()
    except IntegrityError:
        return None


def finish(session: Session, run_id: int, now: dt.datetime, outcome: str, error: str | None = None) -> None:
    session.execute(update(JobRun).where(JobRun.id == run_id).values(finished_at=now, outcome=outcome, error=error))


def is_claimed(session: Session, job: str, scope: str, run_key: str) -> bool:
    query = select(JobRun.id).where(JobRun.job == job, JobRun.scope == scope, JobRun.run_key == run_key)
    return session.execute(query).first() is not None
