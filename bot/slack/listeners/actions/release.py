"""The "Release with an exception" button offered when a release is refused by the hours or a freeze."""

from __future__ import annotations

import asyncio
import json

from slack_bolt.async_app import AsyncApp

from bot.release import releasing, service
from bot.errors import Refused
from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.release import exception_modal
from bot.slack.blocks.text import refusal_reply
from bot.slack.delivery import product_name


def parse_value(raw: str) -> tuple[int, str]:
    """(candidate id, reason for pending verifications) from a button value or modal metadata."""
    try:
        value = json.loads(raw)
        return int(value["candidate"]), str(value.get("reason") or "")
    except (ValueError, TypeError, KeyError):
        raise Refused("That button does not belong to a release candidate.") from None


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.action(ids.RELEASE_EXCEPTION)
    async def choose_exception(ack, body: dict, action: dict, client, respond) -> None:
        await ack()
        try:
            candidate_id, reason = parse_value(action.get("value", ""))
            candidate = await asyncio.to_thread(service.get, runtime.db, candidate_id)
            if candidate is None or not candidate.in_progress:
                raise Refused("That candidate is no longer in progress.")
            if not releasing.may_release(runtime.config, candidate, body["user"]["id"]):
                raise Refused(f"Only the release manager <@{candidate.release_manager}> or an admin can release it.")
        except Refused as refusal:
            await respond(**refusal_reply(refusal), replace_original=False)
            return
        modal = exception_modal(candidate, product_name(runtime.config, candidate.product), reason)
        await client.views_open(trigger_id=body["trigger_id"], view=modal)
