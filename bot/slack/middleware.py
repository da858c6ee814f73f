"""Bolt middleware: count every request, drop NUL characters and refuse oversized command text before
any listener, and let a redelivered event have no second effect."""

from __future__ import annotations

import asyncio
import json
import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot import metrics
from bot.inbox import first_delivery
from bot.runtime import Runtime
from bot.slack.blocks.usage import too_long_reply
from bot.slack.listeners.commands.parsing import MAX_TEXT

log = logging.getLogger(__name__)

KINDS = {
    "block_actions": "action",
    "view_submission": "view",
    "view_closed": "view",
    "event_callback": "event",
    "shortcut": "shortcut",
    "message_action": "shortcut",
    "block_suggestion": "options",
}


def request_kind(body: dict) -> str:
    if "command" in body:
        return "command"
    return KINDS.get(body.get("type", ""), "other")


def without_nul(value):
    """The payload with NUL characters dropped from every string, in place: PostgreSQL refuses them
    in text, and no command, form or button means anything by one."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = without_nul(item)
    elif isinstance(value, list):
        value[:] = [without_nul(item) for item in value]
    return value


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.middleware
    async def count_and_dedupe(body: dict, next) -> BoltResponse | None:
        without_nul(body)  # listeners read this same dict
        kind = request_kind(body)
        too_long = too_long_reply(body["command"], body.get("text", ""), MAX_TEXT) if kind == "command" else None
        if too_long:
            metrics.slack_requests.labels(kind, "refused").inc()
            return BoltResponse(status=200, body=json.dumps(too_long), headers={"content-type": "application/json"})
        event_id = body.get("event_id")
        if event_id and not await asyncio.to_thread(first_delivery, runtime.db, runtime.clock, str(event_id)):
            metrics.slack_requests.labels(kind, "duplicate").inc()
            log.info("ignored redelivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        response = await next()
        metrics.slack_requests.labels(kind, "ok").inc()
        return response

    @app.error
    async def on_error(error: Exception, body: dict, respond=None) -> None:
        """Answers at the body's response_url: safe because over HTTP only bodies bot.slack.door
        verified reach Bolt, and Socket Mode bodies come over Slack's authenticated websocket."""
        metrics.slack_requests.labels(request_kind(body), "error").inc()
        log.exception("error handling a Slack %s", request_kind(body), exc_info=error)
        if respond is not None and body.get("response_url"):
            await respond(
                response_type="ephemeral",
                replace_original=False,
                text="Something went wrong on our side while handling that. Try again; "
                "if it keeps failing, tell your releasebot admins.",
            )
