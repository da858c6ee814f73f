"""Choosing the release manager of a daily candidate.

The process asks for a random engineer with commits in the candidate, preferring the US
Eastern time zone so the manager's day overlaps the release hours. Picking only among the
least served of those keeps the role fair: nobody is picked far more often than the others.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Eligible:
    """An engineer with changes in the candidate: a real, active Slack user, picked unless away."""

    user: str
    timezone: str | None
    away: bool = False


@dataclass(frozen=True)
class ManagerChoice:
    user: str
    explanation: str


def choose_release_manager(
    engineers: Sequence[Eligible],
    preferred_timezone: str,
    recent_stints: Mapping[str, int],
    rng: random.Random,
) -> ManagerChoice | None:
    """Random among the least-served engineers in the preferred time zone, else among all; never
    one who is away."""
    engineers = [e for e in engineers if not e.away]
    if not engineers:
        return None
    preferred = [e for e in engineers if e.timezone == preferred_timezone]
    pool = preferred or list(engineers)
    fewest = min(recent_stints.get(e.user, 0) for e in pool)
    least_served = sorted(e.user for e in pool if recent_stints.get(e.user, 0) == fewest)
    user = rng.choice(least_served)
    where = f"in {preferred_timezone}" if preferred else f"(none in {preferred_timezone})"
    plural = "engineer" if len(pool) == 1 else "engineers"
    explanation = f"picked from {len(pool)} {plural} {where}"
    if len(least_served) < len(pool):
        explanation += f", among the {len(least_served)} with the fewest recent stints as release manager"
    return ManagerChoice(user=user, explanation=explanation)
