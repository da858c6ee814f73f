"""The non-viable modal: a refusal is shown in the modal itself, next to the reason field."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.release import signoffs
from bot.errors import Refused
from bot.runtime import Runtime
from bot.slack import ids


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.view(ids.NONVIABLE_VIEW)
    async def submitted(ack, body: dict, view: dict) -> None:
        values = view.get("state", {}).get("values", {})
        reason = values.get(ids.NONVIABLE_REASON_BLOCK, {}).get(ids.NONVIABLE_REASON_INPUT, {}).get("value") or ""
        next_steps = values.get(ids.NONVIABLE_NEXT_BLOCK, {}).get(ids.NONVIABLE_NEXT_INPUT, {}).get("value") or ""
        metadata = view.get("private_metadata", "")
        try:
            if not metadata.isdigit():
                raise Refused("This form does not belong to a release candidate.")
            await asyncio.to_thread(
                signoffs.declare_nonviable,
                runtime.db, runtime.config, int(metadata), body["user"]["id"], reason, next_steps, runtime.clock.now(),
            )
        except Refused as refusal:
            await ack(response_action="errors", errors={ids.NONVIABLE_REASON_BLOCK: str(refusal)[:150]})
            return
        await ack()
        runtime.wake_delivery()
