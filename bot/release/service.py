"""Release-candidate services: each is one transaction that loads, decides, saves and owes messages.

Messages owed to Slack go into the outbox in the same transaction as the change that causes
them, so a crash or a Slack outage can delay them but never lose them. A "notice" item asks
for the candidate's message to show its current state; thread and DM items carry the facts of
an event (`{"event": kind, ...values}`), which the Slack layer renders and escapes when it sends
them. Sign-offs, delegation, non-viable reports and hand-overs are in bot.release.signoffs.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import storage.candidates as candidates
import storage.freezes as freezes
import storage.jobs as jobs
import storage.leases as leases
import storage.outbox as outbox
import storage.people as people_store
import storage.releases as releases
from bot.config import Config, Product
from bot.errors import Refused
from bot.people.away import Away, away_delegations, describe_until
from bot.release.hours import ReleaseWindow
from bot.release.manager import Eligible, choose_release_manager
from bot.release.model import Candidate, CandidateState, Change, Commit, Release, ReleaseException, Trigger
from storage import Database
from storage.slack_users import SlackUser

STINT_WINDOW = dt.timedelta(days=60)


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


def owe_notice(session, candidate: Candidate, now: dt.datetime, channel: str) -> None:
    outbox.enqueue(session, notice_lane(candidate.id), "notice", {"channel": channel}, now, candidate.id)


def owe_thread(session, candidate_id: int, event: dict, now: dt.datetime, *, broadcast: bool = False) -> None:
    outbox.enqueue(session, notice_lane(candidate_id), "thread", {**event, "broadcast": broadcast}, now, candidate_id)


def owe_dm(session, user: str, event: dict, now: dt.datetime, candidate_id: int | None = None) -> None:
    outbox.enqueue(session, f"dm:{user}", "dm", {**event, "user": user}, now, candidate_id)


def home_lane(user: str) -> str:
    return f"home:{user}"


def owe_home(session, users: str | Iterable[str | None], now: dt.datetime) -> None:
    """Each person's App Home is republished from the state at delivery time (several owed ones
    become one publish), so an item names only whose Home it is."""
    for user in sorted({users} if isinstance(users, str) else {u for u in users if u}):
        outbox.enqueue(session, home_lane(user), "home", {"user": user}, now)


def involved(candidate: Candidate) -> set[str]:
    """Whose Home shows the candidate: its engineers, their delegates and its release manager."""
    return {e.user for e in candidate.engineers if e.user} | set(candidate.delegations.values()) | {candidate.release_manager}


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
                committed_at=c.committed_at,
            )
            for c in commits
        )
        engineers = list(dict.fromkeys(c.engineer for c in changes if c.engineer))
        away = people_store.away_now(session, now)
        if request.trigger is Trigger.DAILY:
            choice = choose_release_manager(
                [Eligible(user, people[user].timezone, user in away) for user in engineers],
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

        carried_delegations = current.delegations if current else {}
        made_at_cut = current.away if current else frozenset()  # made again below for whoever is still away
        delegations = {e: d for e, d in carried_delegations.items() if e in engineers and e not in made_at_cut}
        while_away = away_delegations(engineers, away, manager)
        delegations |= while_away
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
            away=frozenset(while_away),
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
        _record_away_delegations(session, config, product, candidate, away, people, now)
        summary = f"{product.key}: cut {candidate.version} with {len(changes)} changes by {len(engineers)} engineers"
        return CutOutcome(candidate, current, summary)


def _fallback_manager(config: Config, product: Product) -> str | None:
    return (product.admins or config.admins or [None])[0]


def _record_cut_events(session, config: Config, product: Product, candidate: Candidate, old: Candidate | None, now) -> None:
    candidates.record_event(
        session, candidate.id, now, candidate.created_by, "cut",
        {"trigger": candidate.trigger, "urgent_reason": candidate.urgent_reason, "supersedes": old.id if old else None},
    )
    owe_notice(session, candidate, now, product.channel)
    owe_home(session, involved(candidate) | (involved(old) if old else set()), now)
    daily = candidate.trigger is Trigger.DAILY
    cut_by = {"by": candidate.created_by, "daily": daily}
    owe_thread(session, candidate.id, {"event": "cut", **cut_by, "manager": candidate.release_manager, "choice": candidate.manager_choice}, now)
    owe_dm(
        session, candidate.release_manager,
        {"event": "release_manager", "product": product.name, "version": candidate.version, "handed_over": False}, now, candidate.id,
    )
    if old is None:
        return
    carried = sum(1 for change in candidate.changes if change.verified)
    candidates.record_event(session, old.id, now, candidate.created_by, "superseded", {"by": candidate.id, "reason": candidate.urgent_reason})
    owe_notice(session, old, now, product.channel)
    owe_thread(
        session, old.id,
        {"event": "superseded", **cut_by, "successor": candidate.version, "reason": candidate.urgent_reason, "carried": carried},
        now, broadcast=candidate.urgent_reason is not None,
    )
    if candidate.urgent_reason:
        everyone = {e.user for e in old.engineers if e.user} | {e.user for e in candidate.engineers if e.user}
        everyone |= {old.release_manager}
        urgent = {
            "event": "urgent_cut", "by": candidate.created_by, "product": product.name,
            "version": candidate.version, "replaces": old.version, "reason": candidate.urgent_reason,
        }
        for user in sorted(everyone - {candidate.created_by}):
            owe_dm(session, user, urgent, now, candidate.id)


def _record_away_delegations(
    session, config: Config, product: Product, candidate: Candidate, away: Mapping[str, Away], people, now: dt.datetime
) -> None:
    """The thread says who verifies for whom while away; a named delegate is told by DM."""
    pairs = [[engineer, candidate.delegations[engineer]] for engineer in sorted(candidate.away)]
    if not pairs:
        return
    owe_thread(session, candidate.id, {"event": "away_delegations", "pairs": pairs}, now)
    for engineer, delegate in pairs:
        if delegate != away[engineer].delegate:
            continue  # the release manager, who knows from the thread and the notice
        changes = [c for c in candidate.changes if c.engineer == engineer]
        person = people.get(engineer)
        until = describe_until(away[engineer].until, person.timezone if person else None, config.release_hours.timezone)
        owe_dm(
            session, delegate,
            {
                "event": "away_delegate", "by": engineer, "until": until, "product": product.name,
                "version": candidate.version, "product_channel": product.channel, "verify_candidate": candidate.id,
                "subjects": [[c.sha[:7], c.subject] for c in changes[:10]], "more": max(0, len(changes) - 10),
            },
            now, candidate.id,
        )


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
