"""The facts of one person's App Home, read in one database snapshot and turned into plain values.

This is where the candidate, flag and freeze models meet bot.people.home's plain facts; what the
Home says about them is decided there, how it looks in bot.slack.blocks.home.
"""

from __future__ import annotations

import datetime as dt

import storage.flags as flag_store
import storage.freezes as freezes
import storage.home as home_store
import storage.people as people_store
import storage.slack_users as slack_users
from bot.config import Config
from bot.flags import definitions, rules
from bot.flags.model import Flag
from bot.people import away as away_rules
from bot.people.home import (
    Away,
    FlagApproval,
    FreezeInForce,
    HomeFacts,
    ManagedCandidate,
    OwnedFlag,
    PendingVerification,
    PlanDecision,
)
from bot.release.hours import Freeze, ReleaseWindow
from bot.rollouts import service as rollouts
from bot.rollouts.plan import AWAITING_APPROVAL, AWAITING_GO
from storage import Database
from storage.home import CandidateSummary

ALL_PRODUCTS = ""  # a product key no freeze names: only freezes of all products cover it


def gather(db: Database, config: Config, user: str, now: dt.datetime) -> HomeFacts:
    with db.reading() as session:
        absence = people_store.away_of(session, user, now)
        known = slack_users.users(session, [user], dt.datetime.min.replace(tzinfo=dt.timezone.utc)).get(user)
        in_progress = home_store.in_progress_summaries(session)
        active = freezes.active_or_future(session, now)
        requests = home_store.pending_flag_requests(session)
        flags = {flag.key: flag for flag in flag_store.all_flags(session) if not flag.archived}
        owned = [flag for flag in flags.values() if flag.owner == user]
        changed = home_store.last_state_changes(session, [flag.key for flag in owned])
        plans = rollouts.running_in(session, config, now)
    window = ReleaseWindow(config.release_hours)
    overall = window.verdict(now, active, ALL_PRODUCTS)
    return HomeFacts(
        user=user,
        now=now,
        pending=tuple(p for c in in_progress if (p := _pending(config, c, user)) is not None),
        managed=tuple(_managed(config, window, active, c, now) for c in in_progress if c.release_manager == user),
        approvals=tuple(
            FlagApproval(r.id, r.flag_key, r.environment, definitions.describe_operation(r.after), r.requested_by, r.created_at)
            for r in requests
            if r.flag_key in flags and r.requested_by != user and rules.may_administer(config, flags[r.flag_key], user)
        ),
        plans=tuple(d for view in plans if (d := _plan_decision(config, view, user)) is not None),
        flags=tuple(_owned(config, flag, changed.get(flag.key)) for flag in owned),
        freezes=tuple(_freeze(config, window, f, now) for f in active if f.starts_at <= now),
        window_open=overall.open,
        next_window=window.describe(overall.next_open, now),
        away=_away(config, absence, known.timezone if known else None),
    )


def _away(config: Config, absence: away_rules.Away | None, timezone: str | None) -> Away | None:
    """The end of an absence in the person's own Slack time zone (as cached), else the release hours'."""
    if absence is None:
        return None
    until = away_rules.describe_until(absence.until, timezone, config.release_hours.timezone)
    return Away(until=until, delegate=absence.delegate)


def _plan_decision(config: Config, view: rollouts.View, user: str) -> PlanDecision | None:
    """A plan waits for the person's approval when they hold a role it still needs (not on their own
    plan), and for their Go when they are its owner or an approver (as bot.rollouts.plan.refusal)."""
    plan, status, approvers = view.stored.plan, view.status, config.flags.approvers
    since = status.since or plan.created_at
    if status.state == AWAITING_APPROVAL and user != plan.owner:
        roles = tuple(role for role in status.missing_roles if user in approvers.get(role, []))
        return PlanDecision(plan.id, plan.flag, plan.environment, plan.owner, status.state, roles, since) if roles else None
    if status.state == AWAITING_GO and (user == plan.owner or any(user in users for users in approvers.values())):
        return PlanDecision(plan.id, plan.flag, plan.environment, plan.owner, status.state, (), since)
    return None


def _product(config: Config, key: str) -> tuple[str, str]:
    product = config.product(key)
    return (product.name, product.channel) if product else (key, "")


def _verifier(candidate: CandidateSummary, engineer: str | None) -> str:
    """As Candidate.verifier_of: their delegate, or the release manager for unmatched authors."""
    return candidate.release_manager if engineer is None else candidate.delegations.get(engineer, engineer)


def _pending(config: Config, candidate: CandidateSummary, user: str) -> PendingVerification | None:
    """What `user` may sign in the candidate, as Candidate.signable_by says."""
    pending = {e: total - verified for e, (total, verified) in candidate.changes.items() if verified < total}
    signable = [e for e in pending if e == user or _verifier(candidate, e) == user]
    if not signable:
        return None
    name, channel = _product(config, candidate.product)
    return PendingVerification(
        candidate_id=candidate.id,
        product=name,
        channel=channel,
        version=candidate.version,
        created_at=candidate.created_at,
        own_changes=pending.get(user, 0),
        for_others=tuple(e for e in signable if e != user),
        delegated_to=candidate.delegations.get(user) if user in pending else None,
    )


def _managed(config: Config, window: ReleaseWindow, active: list[Freeze], candidate: CandidateSummary, now: dt.datetime) -> ManagedCandidate:
    name, channel = _product(config, candidate.product)
    verdict = window.verdict(now, active, candidate.product)
    matched = [counts for engineer, counts in candidate.changes.items() if engineer is not None]
    return ManagedCandidate(
        candidate_id=candidate.id,
        product=name,
        channel=channel,
        version=candidate.version,
        state=candidate.state,
        verified=sum(1 for total, verified in matched if verified == total),
        engineers=len(matched),
        window_open=verdict.open,
        window="open" if verdict.open else f"{'; '.join(verdict.reasons)}; next opening {window.describe(verdict.next_open, now)}",
    )


def _owned(config: Config, flag: Flag, last_changed: dt.datetime | None) -> OwnedFlag:
    states = [flag.definition(env) for env in config.flags.environments]
    served = {definitions.served_to_everyone(s) for s in states}
    everywhere = served.pop() if len(served) == 1 else None
    return OwnedFlag(
        key=flag.key,
        states=tuple((env, definitions.describe(s)) for env, s in zip(config.flags.environments, states)),
        everywhere=everywhere,
        last_changed=last_changed or flag.created_at,
    )


def _freeze(config: Config, window: ReleaseWindow, freeze: Freeze, now: dt.datetime) -> FreezeInForce:
    scope = "all products" if freeze.scope == "all" else _product(config, freeze.scope)[0]
    return FreezeInForce(scope, window.describe(freeze.ends_at, now), freeze.reason)


def flag_deciders(config: Config, flag: Flag) -> set[str]:
    """Whose Home shows the flag's approval requests: its owner and every admin of its product."""
    product = config.product(flag.product) if flag.product else None
    return {flag.owner, *config.admins, *(product.admins if product else ())}
