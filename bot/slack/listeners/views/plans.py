"""The reason modal of a plan's No-go and Reject: a refusal is shown beside the reason field."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.errors import Refused
from bot.rollouts import service
from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.text import refusal_text


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.view(ids.PLAN_REASON_VIEW)
    async def submitted(ack, body: dict, view: dict) -> None:
        values = view.get("state", {}).get("values", {})
        reason = values.get(ids.PLAN_REASON_BLOCK, {}).get(ids.PLAN_REASON_INPUT, {}).get("value") or ""
        action, _, plan_id = view.get("private_metadata", "").partition(":")
        try:
            if action not in ("no_go", "reject") or not plan_id.isdigit():
                raise Refused("This form does not belong to a rollout plan.")
            await asyncio.to_thread(
                service.decide, runtime.db, runtime.config, int(plan_id), action, body["user"]["id"], runtime.clock.now(), reason=reason
            )
        except Refused as refusal:
            await ack(response_action="errors", errors={ids.PLAN_REASON_BLOCK: refusal_text(refusal)[:150]})
            return
        await ack()
        runtime.wake_delivery()
