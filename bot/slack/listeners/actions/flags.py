"""Approve and Reject on a flag change request for a protected environment, in its message or the App Home."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.errors import Refused
from bot.flags import service
from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.flags import decided_message
from bot.slack.blocks.text import refusal_text
from bot.slack.listeners.answers import from_home, tell


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def decide(ack, body: dict, action: dict, respond, client, approve: bool) -> None:
        await ack()
        user = body["user"]["id"]
        value = str(action.get("value", ""))
        try:
            if not value.isdigit() or len(value) > 18:
                raise Refused("That button does not belong to a flag request.")
            await asyncio.to_thread(
                service.decide, runtime.db, runtime.config, int(value), approve, user, runtime.clock.now()
            )
        except Refused as refusal:
            await tell(runtime, body, respond, client, refusal_text(refusal))
            return
        runtime.wake_delivery()
        if from_home(body):  # the outbox publishes the Home again, without the request
            return
        original = next((b["text"]["text"] for b in body.get("message", {}).get("blocks", []) if b.get("type") == "section"), "")
        await respond(**decided_message(f"{original}\n*{'Approved' if approve else 'Rejected'}* by <@{user}>."))

    @app.action(ids.any_item(ids.FLAG_APPROVE))
    async def approve(ack, body: dict, action: dict, respond, client) -> None:
        await decide(ack, body, action, respond, client, approve=True)

    @app.action(ids.any_item(ids.FLAG_REJECT))
    async def reject(ack, body: dict, action: dict, respond, client) -> None:
        await decide(ack, body, action, respond, client, approve=False)
