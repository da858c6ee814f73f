"""app_home_opened: the Home tab shows what waits for the person, read from the current state."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.home import render_home


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    async def opened(event: dict, client) -> None:
        if event.get("tab", "home") != "home":
            return
        view = await asyncio.to_thread(render_home, runtime, event["user"])
        await client.views_publish(user_id=event["user"], view=view)
