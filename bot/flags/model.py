"""Feature flags as the rollout procedure describes them: serving off until changed, percentage
rollouts, named targets and segments, variants, a kill switch, owners, approvals and an audit
trail. In each environment a flag is a flagd flag definition (bot/flags/definitions.py)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

from bot.flags.definitions import initial

KEY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class FlagType(StrEnum):
    RELEASE = "release"
    EXPERIMENT = "experiment"
    PERMISSION = "permission"
    OPS = "ops"


@dataclass(frozen=True)
class Flag:
    key: str
    type: FlagType
    description: str
    owner: str
    created_by: str
    created_at: dt.datetime
    product: str | None = None
    variants: dict | None = None  # None: a boolean flag, variants on (true) and off (false)
    states: dict[str, dict] = field(default_factory=dict)
    archived: bool = False

    def definition(self, environment: str) -> dict:
        """The flag's flagd definition in the environment (serving off where never changed)."""
        return self.states.get(environment) or initial(self.variants)


@dataclass(frozen=True)
class FlagSnapshot:
    """Every live flag of one environment at one version of the flag store, and the shared
    evaluators (`$ref` targets: the configured segments)."""

    environment: str
    version: int
    flags: dict[str, dict]
    evaluators: dict[str, object] = field(default_factory=dict)
