"""Release-candidate services: each is one transaction that loads, decides, saves and owes messages.

Messages owed to Slack go into the outbox in the same transaction as the change that causes
them, so a crash or a Slack outage can delay them but never lose them. A "notice" item asks
for the candidate's message to show its current state; thread and DM items carry their text.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import storage.candidates as candidates
import storage.freezes as freezes
import storage.jobs as jobs
import storage.leases as leases
import storage.outbox as outbox
import storage.releases as releases
from bot.config import Config, Product
from bot.errors import Refused
from bot.release.hours import ReleaseWindow
from bot.release.manager import Eligible, choose_release_manager
from bot.release.model import IN_PROGRESS, Candidate, CandidateState, Change, Commit, Release, ReleaseException, Trigger
from storage import Database
from storage.slack_users import SlackUser

STINT_WINDOW = dt.timedelta(days=60)
DEFAULT_NEXT_STEPS = "The fixes go into the next candidate; cut one with `/rc cut` once they are merged."
ROLE = (
    "As release manager you coordinate this candidate: every engineer with changes in it verifies them "
    "in the RC environment (or asks a teammate to), you tell the channel if it is not viable and what happens "
    "next, and once it is ready you release it to production inside the release hours."
)


@dataclass(frozen=True)
class CutRequest:
    product: Product
    trigger: Trigger
    actor: str | None
    urgent_reason: str | None = None
    run_key: str | None = None  # the daily run this cut belongs to, claimed once per product


@dataclass(frozen=True)
class CutOutcome:
    candidate: Candidate | None
    superseded: Candidate | None
    summary: str


def mention(user: str | None) -> str:
    return f"<@{user}>" if user else "someone"


def notice_lane(candidate_id: int) -> str:
    return f"candidate:{candidate_id}"


def _owe_notice(session, candidate: Candidate, now: dt.datetime, channel: str) -> None:
    outbox.enqueue(session, notice_lane(candidate.id), "notice", {"channel": channel}, now, candidate.id)


def _owe_thread(session, candidate_id: int, text: str, now: dt.datetime, *, broadcast: bool = False) -> None:
    outbox.enqueue(session, notice_lane(candidate_id), "thread", {"text": text, "broadcast": broadcast}, now, candidate_id)


def _owe_dm(session, user: str, text: str, now: dt.datetime, candidate_id: int | None = None) -> None:
    outbox.enqueue(session, f"dm:{user}", "dm", {"user": user, "text": text}, now, candidate_id)


def _version(session, product: str, now: dt.datetime, timezone: str) -> str:
    day = now.astimezone(ZoneInfo(timezone)).strftime("%Y.%m.%d")
    return f"{day}-rc{candidates.count_versions_with_prefix(session, product, day + '-rc') + 1}"


def record_cut(
    db: Database,
    config: Config,
    request: CutRequest,
    head: str,
    base: str | None,
    commits: list[Commit],
    authors: Mapping[str, str | None],
    people: Mapping[str, SlackUser],
    now: dt.datetime,
    rng: random.Random,
) -> CutOutcome:
    """Make the candidate, superseding the one in progress; refuse what the process does not allow.

    `authors` maps commit emails to Slack users (None: no match) and `people` holds what Slack
    says of them; bots and deactivated users are treated as authors without a Slack user.
    """
    product = request.product
    with db.transaction() as session:
        candidates.lock_product(session, product.key)
        if request.run_key and jobs.claim(session, "daily-candidates", product.key, request.run_key, now) is None:
            return CutOutcome(None, None, f"{product.key}: today's daily cut was already made")
        current = candidates.in_progress(session, product.key, lock=True)
        latest = candidates.latest(session, product.key)
        if current is not None and request.trigger is Trigger.MANUAL and request.urgent_reason is None:
            raise Refused(
                f"{product.name} already has a candidate in progress: {current.version} ({current.state}), "
                f"release manager {mention(current.release_manager)}. Wait until it is released, or if your "
                "changes are urgent, tell the team and cut an urgent one with `/rc cut urgent <reason>`."
            )
        if not commits:
            if request.trigger is Trigger.DAILY:
                return CutOutcome(None, None, f"{product.key}: no changes since the last release")
            raise Refused(f"{product.name} has no changes since its last release; there is nothing to cut.")
        if request.trigger is Trigger.DAILY and latest is not None and latest.head_sha == head:
            return CutOutcome(None, None, f"{product.key}: no new changes since {latest.version}")

        def engineer_of(email: str) -> str | None:
            user = authors.get(email)
            return user if user and people.get(user) and people[user].active_person else None

        carried = candidates.verified_changes(session, current.id) if current else {}
        changes = tuple(
            Change(
                sha=c.sha,
                author_email=c.author_email,
                author_name=c.author_name,
                subject=c.subject,
                engineer=engineer_of(c.author_email),
                verified_by=carried.get(c.sha, (None, None))[0],
                verified_at=carried.get(c.sha, (None, None))[1],
            )
            for c in commits
        )
        engineers = list(dict.fromkeys(c.engineer for c in changes if c.engineer))
        if request.trigger is Trigger.DAILY:
            choice = choose_release_manager(
                [Eligible(user, people[user].timezone) for user in engineers],
                config.release_manager.preferred_timezone,
                candidates.recent_stints(session, product.key, now - STINT_WINDOW),
                rng,
            )
            if choice is None:
                manager, how = _fallback_manager(config, product), "no engineer in it has a Slack account; the product admin takes the role"
            else:
                manager, how = choice.user, choice.explanation
        else:
            manager, how = request.actor, "cut by hand, so the person who cut it"
        if manager is None:
            raise Refused(f"{product.name}: nobody can be release manager; add an admin to the configuration.")

        delegations = {e: d for e, d in (current.delegations if current else {}).items() if e in engineers}
        candidate = Candidate(
            id=0,
            product=product.key,
            version=_version(session, product.key, now, config.release_hours.timezone),
            state=CandidateState.VERIFYING,
            trigger=request.trigger,
            release_manager=manager,
            head_sha=head,
            base_sha=base,
            created_at=now,
            created_by=request.actor,
            changes=changes,
            delegations=delegations,
            manager_choice=how,
            urgent_reason=request.urgent_reason,
        )
        if current is not None:
            candidates.update_candidate(session, current.id, state=CandidateState.SUPERSEDED)
            session.flush()
        candidate = replace(candidate, id=candidates.insert(session, candidate))
        if candidate.fully_verified:
            candidates.update_candidate(session, candidate.id, state=CandidateState.READY)
            candidate = replace(candidate, state=CandidateState.READY)
        if current is not None:
            candidates.update_candidate(session, current.id, superseded_by=candidate.id)

        _record_cut_events(session, config, product, candidate, current, now)
        summary = f"{product.key}: cut {candidate.version} with {len(changes)} changes by {len(engineers)} engineers"
        return CutOutcome(candidate, current, summary)


def _fallback_manager(config: Config, product: Product) -> str | None:
    return (product.admins or config.admins or [None])[0]


def _record_cut_events(session, config: Config, product: Product, candidate: Candidate, old: Candidate | None, now) -> None:
    candidates.record_event(
        session, candidate.id, now, candidate.created_by, "cut",
        {"trigger": candidate.trigger, "urgent_reason": candidate.urgent_reason, "supersedes": old.id if old else None},
    )
    _owe_notice(session, candidate, now, product.channel)
    who = "the daily schedule" if candidate.trigger is Trigger.DAILY else mention(candidate.created_by)
    _owe_thread(session, candidate.id, f"Cut by {who}. Release manager {mention(candidate.release_manager)}: {candidate.manager_choice}.", now)
    _owe_dm(
        session, candidate.release_manager,
        f"You are the release manager of *{product.name} {candidate.version}*. {ROLE}", now, candidate.id,
    )
    if old is None:
        return
    carried = sum(1 for change in candidate.changes if change.verified)
    reason = f" (urgent: {candidate.urgent_reason})" if candidate.urgent_reason else ""
    candidates.record_event(session, old.id, now, candidate.created_by, "superseded", {"by": candidate.id, "reason": candidate.urgent_reason})
    _owe_notice(session, old, now, product.channel)
    _owe_thread(
        session, old.id,
        f"Superseded by {candidate.version}{reason}, cut by {who}. Verify in the new candidate; "
        f"{carried} change{'s' if carried != 1 else ''} already verified here stay verified.",
        now, broadcast=candidate.urgent_reason is not None,
    )
    if candidate.urgent_reason:
        everyone = {e.user for e in old.engineers if e.user} | {e.user for e in candidate.engineers if e.user}
        everyone |= {old.release_manager}
        for user in sorted(everyone - {candidate.created_by}):
            _owe_dm(
                session, user,
                f"{mention(candidate.created_by)} cut an urgent candidate of *{product.name}*, {candidate.version}, "
                f"replacing {old.version}: {candidate.urgent_reason}. Changes you already verified stay verified.",
                now, candidate.id,
            )


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
        channel = _product(config, candidate).channel
        _owe_notice(session, after, now, channel)
        _owe_thread(session, candidate.id, _signed_text(user, engineers), now)
        if became_ready:
            _owe_thread(session, candidate.id, "Every change is verified: the candidate is ready for production.", now)
            _owe_dm(
                session, after.release_manager,
                f"*{_product(config, candidate).name} {candidate.version}* is ready: every change is verified.",
                now, candidate.id,
            )
        return candidates.get(session, candidate.id), engineers


def _signed_text(user: str, engineers: list[str | None]) -> str:
    others = [e for e in engineers if e != user]
    if not others:
        return f"{mention(user)} verified their changes."
    names = ", ".join("the changes of authors without a Slack account" if e is None else mention(e) for e in others)
    own = "their changes and " if user in engineers else ""
    return f"{mention(user)} verified {own}{names}."


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
        _owe_notice(session, candidate, now, product.channel)
        _owe_thread(session, candidate.id, f"{mention(engineer)} asked {mention(teammate.user_id)} to verify their changes.", now)
        subjects = "\n".join(f"• `{c.sha[:7]}` {c.subject}" for c in mine.changes[:10])
        more = f"\n…and {len(mine.changes) - 10} more" if len(mine.changes) > 10 else ""
        _owe_dm(
            session, teammate.user_id,
            f"{mention(engineer)} asked you to verify their changes in *{product.name} {candidate.version}* "
            f"in their absence. Check them in the RC environment, then press *Verified* on the candidate in "
            f"<#{product.channel}>.\n{subjects}{more}",
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
        _owe_notice(session, candidate, now, _product(config, candidate).channel)
        _owe_thread(
            session, candidate.id,
            f"{mention(user)} declared {candidate.version} *not viable*.\n*Why:* {reason}\n*Next:* {next_steps}",
            now, broadcast=True,
        )
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
        _owe_notice(session, candidate, now, product.channel)
        _owe_thread(
            session, candidate.id,
            f"{mention(actor)} handed the release manager role from {mention(candidate.release_manager)} "
            f"to {mention(new_manager.user_id)}.",
            now,
        )
        _owe_dm(session, new_manager.user_id, f"You are now the release manager of *{product.name} {candidate.version}*. {ROLE}", now, candidate.id)
        return candidates.get(session, candidate.id)


def current(db: Database, product: str) -> Candidate | None:
    with db.reading() as session:
        return candidates.in_progress(session, product) or candidates.latest(session, product)


def history(db: Database, product: str, limit: int = 50) -> list[Candidate]:
    with db.reading() as session:
        return candidates.newest_first(session, product, limit)


def get(db: Database, candidate_id: int) -> Candidate | None:
    with db.reading() as session:
        return candidates.get(session, candidate_id)


def notice_location(db: Database, candidate_id: int) -> tuple[str, str] | None:
    """(channel, ts) of the candidate's message once it has been posted."""
    with db.reading() as session:
        return outbox.message_location(session, notice_lane(candidate_id))


def base_for_next_cut(db: Database, product: str) -> str | None:
    """A candidate holds every change not yet released: it starts after the last released head."""
    with db.reading() as session:
        return candidates.last_released_head(session, product)


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
        _owe_notice(session, candidate, now, product.channel)
        lines = [f":rocket: {mention(request.actor)} released *{product.name} {candidate.version}* to production."]
        if request.exception:
            lines.append(f"*Exception:* {request.exception.label}. {request.note or ''}".rstrip())
        if release.pending_reason:
            names = ", ".join(mention(e.user) if e.user else "authors without a Slack account" for e in candidate.pending)
            lines.append(f"*Released with pending verifications* ({names}): {release.pending_reason}")
        _owe_thread(session, candidate.id, "\n".join(lines), now, broadcast=True)
        return release


def record_hook_failure(db: Database, config: Config, request: ReleaseRequest, candidate: Candidate, error: str, now: dt.datetime) -> None:
    """The deploy hook kept failing: nothing was released, and the release manager must know."""
    with db.transaction() as session:
        candidates.record_event(session, candidate.id, now, request.actor, "deploy_hook_failed", {"error": error})
        _owe_dm(
            session, candidate.release_manager,
            f"The deploy hook of *{request.product.name}* failed for {candidate.version} ({error}); "
            "it was not released. Try `/rc release` again once the deploy pipeline answers.",
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
