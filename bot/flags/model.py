"""Feature flags as the rollout procedure describes them: disabled by default, percentage
rollouts, named targets, a kill switch, owners, approvals and an audit trail."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class FlagType(StrEnum):
    RELEASE = "release"
    EXPERIMENT = "experiment"
    PERMISSION = "permission"
    OPS = "ops"


@dataclass(frozen=True)
class FlagState:
    """One flag in one environment. When enabled, targets are always on and `rollout` percent of
    everyone else (bucketed by targeting key) is on; when disabled, it is off for everyone."""

    enabled: bool = False
    rollout: int = 100
    targets: tuple[str, ...] = ()

    def describe(self) -> str:
        if not self.enabled:
            return "off"
        if self.rollout == 100:
            return "on"
        targets = f"{len(self.targets)} target{'s' if len(self.targets) != 1 else ''}"
        if self.rollout == 0:
            return f"on for {targets} only" if self.targets else "on for nobody (0%)"
        return f"on for {self.rollout}%" + (f" and {targets}" if self.targets else "")


@dataclass(frozen=True)
class Flag:
    key: str
    type: FlagType
    description: str
    owner: str
    created_by: str
    created_at: dt.datetime
    product: str | None = None
    states: dict[str, FlagState] = field(default_factory=dict)
    archived: bool = False

    def state(self, environment: str) -> FlagState:
        return self.states.get(environment, FlagState())


@dataclass(frozen=True)
class FlagSnapshot:
    """Every live flag of one environment at one version of the flag store."""

    environment: str
    version: int
    flags: dict[str, FlagState]
