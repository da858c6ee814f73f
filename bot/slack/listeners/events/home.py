"""app_home_opened: the Home tab shows the products this bot looks after."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.blocks.home import home_view


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.event("app_home_opened")
    async def opened(event: dict, client) -> None:
        if event.get("tab", "home") != "home":
            return
        await client.views_publish(user_id=event["user"], view=home_view(runtime.config))
