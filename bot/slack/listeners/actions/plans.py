"""The rollout plan message's buttons: Approve as <role>, Go, and No-go and Reject (which ask why
in a modal). The message itself is updated by the outbox, from the plan's new state. Approve and Go
come from the App Home too (their ids with the plan id after them); a refusal there goes by DM."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.errors import Refused
from bot.rollouts import service
from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.rollouts import reason_modal
from bot.slack.blocks.text import refusal_text
from bot.slack.listeners.answers import tell


def plan_id_of(action: dict) -> int:
    value = str(action.get("value", ""))
    if not value.isdigit() or len(value) > 18:
        raise Refused("That button does not belong to a rollout plan.")
    return int(value)


def register(app: AsyncApp, runtime: Runtime) -> None:
    async def decide(body: dict, action: dict, respond, client, kind: str, role: str | None = None) -> None:
        try:
            await asyncio.to_thread(
                service.decide, runtime.db, runtime.config, plan_id_of(action), kind, body["user"]["id"], runtime.clock.now(), role
            )
        except Refused as refusal:
            await tell(runtime, body, respond, client, refusal_text(refusal))
            return
        runtime.wake_delivery()

    @app.action(ids.any_role(ids.PLAN_APPROVE))
    async def approve(ack, body: dict, action: dict, respond, client) -> None:
        await ack()
        await decide(body, action, respond, client, "approve", ids.role_of(action["action_id"]))

    @app.action(ids.any_item(ids.PLAN_GO))
    async def go(ack, body: dict, action: dict, respond, client) -> None:
        await ack()
        await decide(body, action, respond, client, "go")

    async def ask_why(ack, body: dict, action: dict, respond, client, kind: str) -> None:
        await ack()
        try:
            plan_id = plan_id_of(action)
        except Refused as refusal:
            await tell(runtime, body, respond, client, refusal_text(refusal))
            return
        await client.views_open(trigger_id=body["trigger_id"], view=reason_modal(kind, plan_id))

    @app.action(ids.PLAN_NO_GO)
    async def no_go(ack, body: dict, action: dict, respond, client) -> None:
        await ask_why(ack, body, action, respond, client, "no_go")

    @app.action(ids.PLAN_REJECT)
    async def reject(ack, body: dict, action: dict, respond, client) -> None:
        await ask_why(ack, body, action, respond, client, "reject")
