"""Putting a candidate into production: the checks, the lease and the record of a release.

Apart from bot.release.service because a release spans a deploy hook call that may take
minutes: bot.release.flows checks, holds the product's lease, calls the hook outside any
transaction and only then records, so each step here is its own transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import storage.candidates as candidates
import storage.freezes as freezes
import storage.leases as leases
import storage.releases as releases
from bot.config import Config, Product
from bot.errors import Refused
from bot.release.hours import ReleaseWindow
from bot.release.model import Candidate, CandidateState, Release, ReleaseException
from bot.release.service import involved, mention, owe_dm, owe_home, owe_notice, owe_thread
from storage import Database


class ReleaseClosed(Refused):
    """Outside the release hours or during a freeze: the release manager may still choose an exception."""

    def __init__(self, message: str, candidate: Candidate):
        super().__init__(message)
        self.candidate = candidate


@dataclass(frozen=True)
class ReleaseRequest:
    product: Product
    actor: str
    pending_reason: str | None = None
    exception: ReleaseException | None = None
    note: str | None = None


def may_release(config: Config, candidate: Candidate, user: str) -> bool:
    return user == candidate.release_manager or config.is_admin(user, config.product(candidate.product))


def check_release(db: Database, config: Config, request: ReleaseRequest, now: dt.datetime) -> Candidate:
    """Everything that decides whether the release may go, asked before the deploy hook is called."""
    product = request.product
    with db.reading() as session:
        candidate = candidates.in_progress(session, product.key)
        active = freezes.active_or_future(session, now)
    if candidate is None:
        raise Refused(f"{product.name} has no candidate in progress to release.")
    if not may_release(config, candidate, request.actor):
        raise Refused(
            f"Only the release manager {mention(candidate.release_manager)} or an admin can release {candidate.version}."
        )
    pending = candidate.pending
    names = ", ".join(mention(candidate.verifier_of(e.user)) if e.user is None else mention(e.user) for e in pending)
    if pending and not config.is_admin(request.actor, product):
        raise Refused(
            f"{candidate.version} still has pending verifications: {names}. The release manager releases only a "
            "ready candidate; to release it before they verify, a product admin or an admin must release it "
            "with the reason: `/rc release <reason>`."
        )
    if pending and not request.pending_reason:
        raise Refused(
            f"{candidate.version} still has pending verifications: {names}. To release it anyway, give the reason, "
            "which is recorded and announced: `/rc release <reason>`."
        )
    window = ReleaseWindow(config.release_hours)
    verdict = window.verdict(now, active, product.key)
    if not verdict.open and request.exception is None:
        raise ReleaseClosed(
            f"{product.name} cannot be released now: {'; '.join(verdict.reasons)}. "
            f"Next opening: {window.describe(verdict.next_open, now)}.",
            candidate,
        )
    return candidate


def record_release(db: Database, config: Config, request: ReleaseRequest, candidate_id: int, now: dt.datetime) -> Release:
    """Called once the deploy hook accepted: the candidate is in production, so it is recorded as
    released even if a cut, a hand-over or a non-viable report changed it while the hook ran."""
    product = request.product
    with db.transaction() as session:
        candidate = candidates.get(session, candidate_id, lock=True)
        if candidate is None:
            raise Refused("That release candidate does not exist.")
        if candidate.state is CandidateState.RELEASED:
            raise Refused(f"{candidate.version} is already released.")
        release = Release(
            candidate_id=candidate.id,
            product=product.key,
            version=candidate.version,
            head_sha=candidate.head_sha,
            base_sha=candidate.base_sha,
            released_at=now,
            released_by=request.actor,
            release_manager=candidate.release_manager,
            pending_reason=request.pending_reason if candidate.pending else None,
            exception=request.exception.value if request.exception else None,
            exception_note=request.note,
        )
        releases.record(session, release)
        candidates.update_candidate(session, candidate.id, state=CandidateState.RELEASED)
        candidates.record_event(
            session, candidate.id, now, request.actor, "released",
            {"exception": release.exception, "note": release.exception_note, "pending_reason": release.pending_reason},
        )
        owe_notice(session, candidate, now, product.channel)
        announcement = {
            "event": "released", "by": request.actor, "product": product.name, "version": candidate.version,
            "exception": release.exception, "note": request.note if request.exception else None,
            "pending_reason": release.pending_reason, "pending": [e.user for e in candidate.pending],
        }
        owe_thread(session, candidate.id, announcement, now, broadcast=True)
        owe_home(session, involved(candidate), now)
        return release


def record_hook_failure(db: Database, config: Config, request: ReleaseRequest, candidate: Candidate, error: str, now: dt.datetime) -> None:
    """The deploy hook kept failing: nothing was released, and the release manager must know."""
    with db.transaction() as session:
        candidates.record_event(session, candidate.id, now, request.actor, "deploy_hook_failed", {"error": error})
        owe_dm(
            session, candidate.release_manager,
            {"event": "deploy_hook_failed", "product": request.product.name, "version": candidate.version, "error": error},
            now, candidate.id,
        )


def releases_of(db: Database, product: str, limit: int = 10) -> list[Release]:
    with db.reading() as session:
        return releases.newest_first(session, product, limit)


def release_lease(product: str) -> str:
    return f"release:{product}"


def begin_release(db: Database, product: str, token: str, now: dt.datetime, hold: dt.timedelta) -> bool:
    with db.transaction() as session:
        return leases.claim(session, release_lease(product), token, now, now + hold)


def end_release(db: Database, product: str, token: str) -> None:
    with db.transaction() as session:
        leases.release(session, release_lease(product), token)
