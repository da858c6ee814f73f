"""Release candidates as the process documents describe them, with the predicates the rules ask."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from enum import StrEnum


class CandidateState(StrEnum):
    VERIFYING = "verifying"
    READY = "ready"
    RELEASED = "released"
    NON_VIABLE = "non_viable"
    SUPERSEDED = "superseded"


IN_PROGRESS = frozenset({CandidateState.VERIFYING, CandidateState.READY})


class Trigger(StrEnum):
    DAILY = "daily"
    MANUAL = "manual"


@dataclass(frozen=True)
class Commit:
    """A commit read from the product's repository."""

    sha: str
    author_email: str
    author_name: str
    subject: str
    committed_at: dt.datetime


@dataclass(frozen=True)
class Change:
    """A commit in a candidate; `engineer` is None when no Slack user could be matched to its author."""

    sha: str
    author_email: str
    author_name: str
    subject: str
    engineer: str | None
    verified_by: str | None = None
    verified_at: dt.datetime | None = None
    committed_at: dt.datetime | None = None  # None for changes recorded before it was kept

    @property
    def verified(self) -> bool:
        return self.verified_by is not None


@dataclass(frozen=True)
class EngineerStatus:
    """One engineer's part of a candidate; user None stands for the unmatched authors' changes."""

    user: str | None
    changes: tuple[Change, ...]
    delegate: str | None
    away: bool = False  # delegated at the cut because the engineer was away

    @property
    def verified(self) -> bool:
        return all(change.verified for change in self.changes)

    @property
    def state(self) -> str:
        return "verified" if self.verified else "pending"


@dataclass(frozen=True)
class Candidate:
    id: int
    product: str
    version: str
    state: CandidateState
    trigger: Trigger
    release_manager: str
    head_sha: str
    base_sha: str | None
    created_at: dt.datetime
    created_by: str | None
    changes: tuple[Change, ...]
    delegations: dict[str, str] = field(default_factory=dict)
    away: frozenset[str] = frozenset()  # engineers whose delegation was made at the cut because they were away
    manager_choice: str = ""
    urgent_reason: str | None = None
    superseded_by: int | None = None
    nonviable_reason: str | None = None
    nonviable_next_steps: str | None = None
    nonviable_by: str | None = None
    revision: int = 1

    @property
    def in_progress(self) -> bool:
        return self.state in IN_PROGRESS

    @cached_property
    def engineers(self) -> list[EngineerStatus]:
        """Engineers in the order their first change appears; unmatched authors last (computed once:
        the candidate is immutable and rendering asks many times)."""
        order: dict[str | None, list[Change]] = {}
        for change in self.changes:
            order.setdefault(change.engineer, []).append(change)
        matched = [user for user in order if user is not None]
        statuses = [
            EngineerStatus(user, tuple(order[user]), self.delegations.get(user), user in self.away) for user in matched
        ]
        if None in order:
            statuses.append(EngineerStatus(None, tuple(order[None]), None))
        return statuses

    @property
    def pending(self) -> list[EngineerStatus]:
        return [engineer for engineer in self.engineers if not engineer.verified]

    @property
    def fully_verified(self) -> bool:
        return all(change.verified for change in self.changes)

    def has_changes_by(self, user: str) -> bool:
        return any(change.engineer == user for change in self.changes)

    def verifier_of(self, engineer: str | None) -> str:
        """Who signs an engineer's changes: their delegate, or the release manager for unmatched authors."""
        if engineer is None:
            return self.release_manager
        return self.delegations.get(engineer, engineer)

    def signable_by(self, user: str) -> list[str | None]:
        """The engineers whose pending changes `user` may sign off now."""
        return [e.user for e in self.pending if self.verifier_of(e.user) == user or e.user == user]

    @property
    def commit_range(self) -> str:
        head = self.head_sha[:10]
        return f"{self.base_sha[:10]}..{head}" if self.base_sha else f"up to {head}"


class ReleaseException(StrEnum):
    """The cases the process allows a release outside the hours or during a freeze."""

    PRODUCTION_DOWN = "production_down"
    CRITICAL_BUG = "critical_bug"
    URGENT_DELIVERY = "urgent_delivery"

    @property
    def label(self) -> str:
        return {
            ReleaseException.PRODUCTION_DOWN: "Production is down",
            ReleaseException.CRITICAL_BUG: "Bug in the critical path",
            ReleaseException.URGENT_DELIVERY: "Urgent delivery",
        }[self]


@dataclass(frozen=True)
class Release:
    """A candidate that went to production, and why if it went against the rules."""

    candidate_id: int
    product: str
    version: str
    head_sha: str
    base_sha: str | None
    released_at: dt.datetime
    released_by: str
    release_manager: str
    pending_reason: str | None = None
    exception: str | None = None
    exception_note: str | None = None
