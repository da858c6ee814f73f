"""The Bolt app: the same listeners over HTTP (signed requests) and Socket Mode."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot.runtime import Runtime
from bot.slack import listeners, middleware


class _SameToken(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself, then warns that the client's token
    wins; the client holds that very token, so the warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


BOLT_LOG = logging.getLogger("bot.slack")
BOLT_LOG.addFilter(_SameToken())


def build_app(runtime: Runtime, *, socket_mode: bool = False) -> AsyncApp:
    """Socket Mode requests arrive over an authenticated websocket, so only HTTP verifies signatures."""
    app = AsyncApp(
        client=runtime.slack,  # holds the bot token and SLACK_API_URL
        signing_secret=None if socket_mode else runtime.env.slack_signing_secret,
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=BOLT_LOG,
    )
    middleware.register(app, runtime)
    listeners.register(app, runtime)
    return app
