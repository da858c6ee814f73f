"""Sign-offs, delegation, non-viable reports and hand-overs of a candidate in progress.

Each is one transaction, like the cut in bot.release.service and the release in
bot.release.releasing, and owes the facts of what happened to the outbox; the Slack layer words them.
"""

from __future__ import annotations

import datetime as dt

import storage.candidates as candidates
import storage.leases as leases
from bot.config import Config, Product
from bot.errors import Refused
from bot.release.model import IN_PROGRESS, Candidate, CandidateState
from bot.release.releasing import release_lease
from bot.release.service import involved, mention, owe_dm, owe_home, owe_notice, owe_thread
from storage import Database
from storage.slack_users import SlackUser

DEFAULT_NEXT_STEPS = "The fixes go into the next candidate; cut one with `/rc cut` once they are merged."
SUBJECTS_IN_DM = 10


def verify(db: Database, config: Config, candidate_id: int, user: str, now: dt.datetime) -> tuple[Candidate, list[str | None]]:
    """Sign off what `user` may sign: their own pending changes, and those delegated to them."""
    with db.transaction() as session:
        candidate = _open_candidate(session, candidate_id)
        engineers = candidate.signable_by(user)
        if not engineers:
            if any(e.user == user or candidate.verifier_of(e.user) == user for e in candidate.engineers):
                raise Refused(f"Everything you verify in {candidate.version} is already verified. Thank you!")
            raise Refused(f"You have nothing to verify in {candidate.version}: none of its changes are yours or delegated to you.")
        candidates.sign_off(session, candidate.id, engineers, user, now)
        candidates.record_event(session, candidate.id, now, user, "verified", {"engineers": engineers})
        after = candidates.get(session, candidate.id)
        became_ready = after.fully_verified and after.state is CandidateState.VERIFYING
        candidates.update_candidate(session, candidate.id, **({"state": CandidateState.READY} if became_ready else {}))
        product = _product(config, candidate)
        owe_notice(session, after, now, product.channel)
        owe_thread(session, candidate.id, {"event": "verified", "by": user, "engineers": engineers}, now)
        owe_home(session, {user, after.release_manager, *engineers}, now)
        if became_ready:
            owe_thread(session, candidate.id, {"event": "ready"}, now)
            owe_dm(
                session, after.release_manager,
                {"event": "manager_ready", "product": product.name, "version": candidate.version}, now, candidate.id,
            )
        return candidates.get(session, candidate.id), engineers


def delegate(db: Database, config: Config, candidate_id: int, engineer: str, teammate: SlackUser, now: dt.datetime) -> Candidate:
    with db.transaction() as session:
        candidate = _open_candidate(session, candidate_id)
        if not candidate.has_changes_by(engineer):
            raise Refused(f"You have no changes in {candidate.version}, so there is nothing of yours to delegate.")
        if teammate.user_id == engineer:
            raise Refused("Pick a teammate other than yourself to verify your changes.")
        if not teammate.active_person:
            raise Refused(f"{mention(teammate.user_id)} is a bot or a deactivated account and cannot verify changes.")
        mine = next(e for e in candidate.engineers if e.user == engineer)
        if mine.verified:
            raise Refused(f"Your changes in {candidate.version} are already verified; there is nothing to delegate.")
        candidates.set_delegate(session, candidate.id, engineer, teammate.user_id, now)
        candidates.update_candidate(session, candidate.id)
        candidates.record_event(session, candidate.id, now, engineer, "delegated", {"to": teammate.user_id})
        product = _product(config, candidate)
        owe_notice(session, candidate, now, product.channel)
        owe_thread(session, candidate.id, {"event": "delegated", "by": engineer, "to": teammate.user_id}, now)
        owe_home(session, {engineer, teammate.user_id, candidate.release_manager, candidate.delegations.get(engineer)}, now)
        owe_dm(
            session, teammate.user_id,
            {
                "event": "verify_for", "by": engineer, "product": product.name, "version": candidate.version,
                "product_channel": product.channel, "subjects": [[c.sha[:7], c.subject] for c in mine.changes[:SUBJECTS_IN_DM]],
                "more": max(0, len(mine.changes) - SUBJECTS_IN_DM),
            },
            now, candidate.id,
        )
        return candidates.get(session, candidate.id)


def _check_nonviable(config: Config, candidate: Candidate, user: str) -> None:
    product = config.product(candidate.product)
    if not (candidate.has_changes_by(user) or user == candidate.release_manager or config.is_admin(user, product)):
        raise Refused(
            f"Only engineers with changes in {candidate.version}, its release manager "
            f"{mention(candidate.release_manager)} or an admin can declare it non-viable."
        )


def _check_not_releasing(session, candidate: Candidate, now: dt.datetime, *, lock: bool = False) -> None:
    """A release in flight (its lease is held while the deploy hook runs) would mark the candidate
    released over the report, so a report waits for the release to finish or fail. With `lock` the
    lease row stays locked until the report is committed, so no release starts in between."""
    if leases.is_held(session, release_lease(candidate.product), now, lock=lock):
        raise Refused(
            f"A release of {candidate.version} is under way; declare it non-viable after it finishes or fails."
        )


def check_nonviable_allowed(db: Database, config: Config, candidate_id: int, user: str, now: dt.datetime) -> Candidate:
    """Asked before the modal opens, so nobody fills in a form only to be refused."""
    with db.reading() as session:
        candidate = _open_candidate(session, candidate_id)
        _check_nonviable(config, candidate, user)
        _check_not_releasing(session, candidate, now)
    return candidate


def declare_nonviable(
    db: Database, config: Config, candidate_id: int, user: str, reason: str, next_steps: str | None, now: dt.datetime
) -> Candidate:
    reason, next_steps = reason.strip(), (next_steps or "").strip() or DEFAULT_NEXT_STEPS
    if not reason:
        raise Refused("Say why the candidate is not viable: `/rc nonviable <reason>`.")
    with db.transaction() as session:
        candidate = _open_candidate(session, candidate_id)
        _check_nonviable(config, candidate, user)
        _check_not_releasing(session, candidate, now, lock=True)
        candidates.update_candidate(
            session, candidate.id, state=CandidateState.NON_VIABLE,
            nonviable_reason=reason, nonviable_next_steps=next_steps, nonviable_by=user,
        )
        candidates.record_event(session, candidate.id, now, user, "non_viable", {"reason": reason, "next_steps": next_steps})
        owe_notice(session, candidate, now, _product(config, candidate).channel)
        owe_thread(
            session, candidate.id,
            {"event": "nonviable", "by": user, "version": candidate.version, "reason": reason, "next_steps": next_steps},
            now, broadcast=True,
        )
        owe_home(session, involved(candidate), now)
        return candidates.get(session, candidate.id)


def hand_over(db: Database, config: Config, product: Product, actor: str, new_manager: SlackUser, now: dt.datetime) -> Candidate:
    with db.transaction() as session:
        candidate = candidates.in_progress(session, product.key, lock=True)
        if candidate is None:
            raise Refused(f"{product.name} has no candidate in progress.")
        if actor != candidate.release_manager and not config.is_admin(actor, product):
            raise Refused(
                f"Only the release manager {mention(candidate.release_manager)} or an admin can hand the role over."
            )
        if not new_manager.active_person:
            raise Refused(f"{mention(new_manager.user_id)} is a bot or a deactivated account and cannot be release manager.")
        if new_manager.user_id == candidate.release_manager:
            raise Refused(f"{mention(new_manager.user_id)} is already the release manager of {candidate.version}.")
        candidates.update_candidate(session, candidate.id, release_manager=new_manager.user_id)
        candidates.record_event(
            session, candidate.id, now, actor, "hand_over", {"from": candidate.release_manager, "to": new_manager.user_id}
        )
        owe_notice(session, candidate, now, product.channel)
        owe_thread(
            session, candidate.id,
            {"event": "hand_over", "by": actor, "from": candidate.release_manager, "to": new_manager.user_id}, now,
        )
        owe_home(session, {candidate.release_manager, new_manager.user_id}, now)
        owe_dm(
            session, new_manager.user_id,
            {"event": "release_manager", "product": product.name, "version": candidate.version, "handed_over": True}, now, candidate.id,
        )
        return candidates.get(session, candidate.id)


def _open_candidate(session, candidate_id: int) -> Candidate:
    candidate = candidates.get(session, candidate_id, lock=True)
    if candidate is None:
        raise Refused("That release candidate does not exist.")
    if candidate.state not in IN_PROGRESS:
        raise Refused(f"{candidate.version} is {_state_words(candidate)} and no longer takes sign-offs or changes.")
    return candidate


def _state_words(candidate: Candidate) -> str:
    return {
        CandidateState.RELEASED: "released",
        CandidateState.NON_VIABLE: "not viable",
        CandidateState.SUPERSEDED: "superseded by a newer candidate",
    }.get(candidate.state, str(candidate.state))


def _product(config: Config, candidate: Candidate) -> Product:
    product = config.product(candidate.product)
    if product is None:
        raise Refused(f"The product {candidate.product!r} is no longer configured.")
    return product
