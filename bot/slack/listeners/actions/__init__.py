"""Button presses and menu choices (block_actions)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.listeners.actions import candidate, flags, plans, release

REGISTERED = (candidate, release, flags, plans)


def register(app: AsyncApp, runtime: Runtime) -> None:
    for module in REGISTERED:
        module.register(app, runtime)
