"""The App Home tab's content for one person, assembled from plain facts; no Slack and no SQL.

bot.people.home_facts gathers the facts, bot.slack.blocks.home renders the sections. Each section
keeps at most a fixed number of items, the most pressing first, and counts the rest, so the Home of
someone with a great deal on it still fits in the 100 blocks Slack allows a view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Generic, TypeVar

STALE_AFTER = dt.timedelta(days=30)
# Items shown per section; the builder spends at most 2 blocks per item, so the Home stays under
# 100 blocks: 2 x 12 pending + 10 managed + 2 x 10 approvals + 2 x 5 plans + 4 flag sections + headers and folds.
SHOWN_PENDING = 12
SHOWN_MANAGED = 10
SHOWN_APPROVALS = 10
SHOWN_FLAGS = 40
SHOWN_FREEZES = 10
SHOWN_PLANS = 5  # 2 blocks each: the Home stays under 100 with every other section full

T = TypeVar("T")


@dataclass(frozen=True)
class PendingVerification:
    """What the person still has to verify in one candidate in progress."""

    candidate_id: int
    product: str  # the product's name
    channel: str
    version: str
    created_at: dt.datetime
    own_changes: int  # their own pending changes
    for_others: tuple[str | None, ...] = ()  # engineers who delegated to them; None: authors without a Slack account
    delegated_to: str | None = None  # whom they asked to verify their own changes


@dataclass(frozen=True)
class ManagedCandidate:
    """A candidate in progress whose release manager the person is."""

    candidate_id: int
    product: str
    channel: str
    version: str
    state: str  # a CandidateState value
    verified: int  # engineers verified
    engineers: int
    window_open: bool  # may this product be released now
    window: str  # why not and when next, or that it is open


@dataclass(frozen=True)
class FlagApproval:
    """A change to a protected environment waiting for the person's decision."""

    request_id: int
    flag: str
    environment: str
    change: str
    requested_by: str
    requested_at: dt.datetime


@dataclass(frozen=True)
class PlanDecision:
    """A rollout plan waiting for the person: their approval (in `roles`) or their Go."""

    plan_id: int
    flag: str
    environment: str
    owner: str
    state: str  # "awaiting_approval" or "awaiting_go"
    roles: tuple[str, ...]  # the roles they may approve it as; empty when it waits for Go
    since: dt.datetime


@dataclass(frozen=True)
class OwnedFlag:
    key: str
    states: tuple[tuple[str, str], ...]  # (environment, described state), in configuration order
    everywhere: str | None  # the one variant every environment serves to everyone ("on", "off", ...), else None
    last_changed: dt.datetime  # the last change of its state in the audit trail, else its creation

    def stale(self, now: dt.datetime) -> bool:
        """Fully on or fully off everywhere for 30 days: the flag has done its job and can go."""
        return self.everywhere is not None and now - self.last_changed >= STALE_AFTER


@dataclass(frozen=True)
class Away:
    until: str  # already described for people ("Friday November 20")
    delegate: str | None = None


@dataclass(frozen=True)
class FreezeInForce:
    scope: str  # "all products" or a product's name
    until: str
    reason: str


@dataclass(frozen=True)
class HomeFacts:
    user: str
    now: dt.datetime
    pending: tuple[PendingVerification, ...] = ()
    managed: tuple[ManagedCandidate, ...] = ()
    approvals: tuple[FlagApproval, ...] = ()
    plans: tuple[PlanDecision, ...] = ()
    flags: tuple[OwnedFlag, ...] = ()
    freezes: tuple[FreezeInForce, ...] = ()
    window_open: bool = False  # the release hours are open now (a product's freeze aside)
    next_window: str = ""  # when they next open
    away: Away | None = None  # None: not away (or the away status is not known here)


@dataclass(frozen=True)
class Section(Generic[T]):
    items: tuple[T, ...]
    hidden: int = 0  # items left out, said as "and N more"

    @property
    def total(self) -> int:
        return len(self.items) + self.hidden


@dataclass(frozen=True)
class Home:
    user: str
    away: Away | None
    pending: Section[PendingVerification]
    managed: Section[ManagedCandidate]
    approvals: Section[FlagApproval]
    plans: Section[PlanDecision]
    flags: Section[OwnedFlag]
    stale: frozenset[str]  # keys of the stale flags among those shown
    stale_total: int
    freezes: Section[FreezeInForce]
    window_open: bool
    next_window: str


def _fold(items, limit: int) -> Section:
    items = tuple(items)
    return Section(items[:limit], max(0, len(items) - limit))


def assemble(facts: HomeFacts) -> Home:
    """What waits longest comes first; stale flags before the others, as they ask to be cleaned up."""
    stale = {flag.key for flag in facts.flags if flag.stale(facts.now)}
    flags = _fold(sorted(facts.flags, key=lambda f: (f.key not in stale, f.key)), SHOWN_FLAGS)
    return Home(
        user=facts.user,
        away=facts.away,
        pending=_fold(sorted(facts.pending, key=lambda p: (p.created_at, p.product, p.candidate_id)), SHOWN_PENDING),
        managed=_fold(sorted(facts.managed, key=lambda m: (m.product, m.candidate_id)), SHOWN_MANAGED),
        approvals=_fold(sorted(facts.approvals, key=lambda a: (a.requested_at, a.request_id)), SHOWN_APPROVALS),
        plans=_fold(sorted(facts.plans, key=lambda p: (p.since, p.plan_id)), SHOWN_PLANS),
        flags=flags,
        stale=frozenset(key for key in stale if any(f.key == key for f in flags.items)),
        stale_total=len(stale),
        freezes=_fold(facts.freezes, SHOWN_FREEZES),
        window_open=facts.window_open,
        next_window=facts.next_window,
    )
