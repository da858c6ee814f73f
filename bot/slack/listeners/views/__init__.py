"""Modal submissions (view_submission)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.listeners.views import exception, nonviable, plans

REGISTERED = (nonviable, exception, plans)


def register(app: AsyncApp, runtime: Runtime) -> None:
    for module in REGISTERED:
        module.register(app, runtime)
