"""Slack listeners, one module per surface; each module has register(app, runtime)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.listeners import actions, commands, events, views


def register(app: AsyncApp, runtime: Runtime) -> None:
    commands.register(app, runtime)
    actions.register(app, runtime)
    views.register(app, runtime)
    events.register(app, runtime)
