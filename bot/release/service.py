"""Release-candidate services: each is one transaction that loads, decides, saves and owes messages.

Messages owed to Slack go into the outbox in the same transaction as the change that causes
them, so a crash or a Slack outage can delay them but never lose them. A "notice" item asks
for the candidate's message to show its current state; thread and DM items carry the facts of
an event (`{"event": kind, ...values}`), which the Slack layer renders and escapes when it sends
them. Sign-offs, delegation, non-viable reports and hand-overs are in bot.release.signoffs;
releasing is in bot.release.releasing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import storage.candidates as candidates
import storage.jobs as jobs
import storage.outbox as outbox
import storage.people as people_store
from bot.config import Config, Product
from bot.errors import Refused
from bot.people.away import Away, away_delegations, describe_until
from bot.release.manager import Eligible, choose_release_manager
from bot.release.model import Candidate, CandidateState, Change, Commit, Trigger
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
