"""How each /flag operation changes a flag's state in one environment, and who may change it.

An operation is kept as data ({"op": "rollout", "percent": 20}) so an approval applies it to
the state at approval time: approving an old request never undoes a kill switch pulled since.
"""

from __future__ import annotations

from bot.config import Config
from bot.flags.model import Flag, FlagState

MAX_TARGETS = 500


def apply(state: FlagState, operation: dict) -> FlagState:
    op = operation["op"]
    if op == "on":
        return FlagState(enabled=True, rollout=100, targets=state.targets)
    if op == "off":
        return FlagState(enabled=False, rollout=state.rollout, targets=state.targets)
    if op == "rollout":
        return FlagState(enabled=True, rollout=int(operation["percent"]), targets=state.targets)
    if op == "target":
        keys = list(operation["keys"])
        if operation["mode"] == "add":
            targets = tuple(dict.fromkeys([*state.targets, *keys]))[:MAX_TARGETS]
            # an off flag turned on for named users only: nobody else is let in
            return FlagState(enabled=True, rollout=state.rollout if state.enabled else 0, targets=targets)
        return FlagState(enabled=state.enabled, rollout=state.rollout, targets=tuple(t for t in state.targets if t not in keys))
    raise ValueError(f"unknown flag operation {op!r}")


def describe(operation: dict) -> str:
    op = operation["op"]
    if op == "rollout":
        return f"roll out to {operation['percent']}%"
    if op == "target":
        verb = "add" if operation["mode"] == "add" else "remove"
        return f"{verb} target{'s' if len(operation['keys']) > 1 else ''} {', '.join(operation['keys'])}"
    return f"turn {op}"


def is_kill_switch(operation: dict) -> bool:
    """Turning a flag off never waits: not for an approval, not for a freeze."""
    return operation["op"] == "off"


def may_administer(config: Config, flag: Flag, user: str) -> bool:
    product = config.product(flag.product) if flag.product else None
    return user == flag.owner or config.is_admin(user, product)


def needs_approval(config: Config, environment: str, operation: dict) -> bool:
    """In a protected environment every change but turning off waits for someone other than the
    person asking, whoever asks: owners and admins included."""
    return environment in config.flags.protected and not is_kill_switch(operation)
