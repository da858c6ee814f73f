"""Who may change a flag, and which changes wait: the operations themselves are edits of the
flag's flagd definition (bot/flags/definitions.py)."""

from __future__ import annotations

from bot.config import Config
from bot.flags.model import Flag


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
