"""Events API subscriptions."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.listeners.events import home, people

REGISTERED = (home, people)


def register(app: AsyncApp, runtime: Runtime) -> None:
    for module in REGISTERED:
        module.register(app, runtime)
