"""The release-exception modal: checked at once, then the release runs after the modal closes."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.release import flows, service
from bot.release.model import ReleaseException
from bot.errors import Refused
from bot.release.releasing import ReleaseRequest
from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.text import refusal_text
from bot.slack.listeners.actions.release import parse_value


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.view(ids.EXCEPTION_VIEW)
    async def submitted(ack, body: dict, view: dict, client) -> None:
        values = view.get("state", {}).get("values", {})
        choice = (values.get(ids.EXCEPTION_KIND_BLOCK, {}).get(ids.EXCEPTION_KIND_INPUT, {}).get("selected_option") or {}).get("value")
        note = (values.get(ids.EXCEPTION_NOTE_BLOCK, {}).get(ids.EXCEPTION_NOTE_INPUT, {}).get("value") or "").strip()
        user = body["user"]["id"]
        if choice not in {kind.value for kind in ReleaseException}:
            await ack(response_action="errors", errors={ids.EXCEPTION_KIND_BLOCK: "Choose the exception that applies."})
            return
        if not note:
            await ack(response_action="errors", errors={ids.EXCEPTION_NOTE_BLOCK: "Say what is going on; the note is recorded."})
            return
        try:
            candidate_id, reason = parse_value(view.get("private_metadata", ""))
            candidate = await asyncio.to_thread(service.get, runtime.db, candidate_id)
            product = runtime.config.product(candidate.product) if candidate else None
            if candidate is None or product is None or not candidate.in_progress:
                raise Refused("That candidate is no longer in progress.")
        except Refused as refusal:
            await ack(response_action="errors", errors={ids.EXCEPTION_NOTE_BLOCK: str(refusal)[:150]})
            return
        await ack()
        request = ReleaseRequest(product=product, actor=user, pending_reason=reason or note, exception=ReleaseException(choice), note=note)
        try:
            await flows.release(runtime, request)
        except Refused as refusal:
            await client.chat_postMessage(channel=user, text=refusal_text(refusal))  # a modal has no response_url
