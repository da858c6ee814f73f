"""user_change: a person's time zone or status changed, so the cached profile is refreshed."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.directory import SlackDirectory


def register(app: AsyncApp, runtime: Runtime) -> None:
    directory = SlackDirectory(runtime)

    @app.event("user_change")
    async def changed(event: dict) -> None:
        user = event.get("user")
        if isinstance(user, dict) and user.get("id"):
            await directory.refresh(user)
