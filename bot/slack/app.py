"""The Bolt app: the same listeners over HTTP (signed requests) and Socket Mode."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack import listeners, middleware


def build_app(runtime: Runtime, *, socket_mode: bool = False) -> AsyncApp:
    """Socket Mode requests arrive over an authenticated websocket, so only HTTP verifies signatures."""
    app = AsyncApp(
        token=runtime.env.slack_bot_token,
        client=runtime.slack,
        signing_secret=None if socket_mode else runtime.env.slack_signing_secret,
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=logging.getLogger("bot.slack"),
    )
    middleware.register(app, runtime)
    listeners.register(app, runtime)
    return app
