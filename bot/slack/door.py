"""The HTTP door to Slack: Bolt sees a request only once it is signed by Slack within five minutes,
parses as a Slack payload, and was not handled before.

Bolt checks signatures too, but a malformed timestamp makes its check raise, and a raised error
reaches the app's error handler with the unverified body (and its response_url). Here anything
unverifiable is a plain 401 before any of our code or Bolt's runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot import metrics
from bot.inbox import first_signed_request
from bot.runtime import Runtime
from bot.slack.middleware import request_kind

log = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 5 * 60
TIMESTAMP = re.compile(r"[0-9]{1,12}")
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def verified(secret: str, body: bytes, timestamps: list[str], signatures: list[str], now: float) -> bool:
    """Slack's v0 scheme, strictly: one timestamp of ASCII digits within five minutes of `now`,
    one `v0=` + 64 lowercase hex signature, equal to the HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    if len(timestamps) != 1 or len(signatures) != 1:
        return False
    timestamp, signature = timestamps[0], signatures[0]
    if not TIMESTAMP.fullmatch(timestamp) or not SIGNATURE.fullmatch(signature):
        return False
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    expected = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature[3:])


def parsed(request: Request, body: bytes) -> AsyncBoltRequest | None:
    """Bolt's request for a body that is UTF-8 and a JSON object (JSON, or a form's payload) or a form."""
    if not body:
        return None
    try:
        bolt_request = to_async_bolt_request(request, body)
    except (ValueError, TypeError, AttributeError, LookupError):  # not UTF-8, not JSON, not shaped like a payload
        return None
    return bolt_request if isinstance(bolt_request.body, dict) and bolt_request.body else None


def refused() -> Response:
    metrics.slack_requests.labels("unknown", "unauthorized").inc()
    return JSONResponse({"error": "invalid request"}, status_code=401)


def slack_door(runtime: Runtime, app: AsyncApp, now: Callable[[], float] = time.time):
    """The /slack/events endpoint. Slack's timestamps are wall-clock time, hence `now`."""
    secret = runtime.env.slack_signing_secret or ""

    async def endpoint(request: Request) -> Response:
        body = await request.body()  # bot.body_limit stops it at 1 MiB
        timestamps = request.headers.getlist("x-slack-request-timestamp")
        signatures = request.headers.getlist("x-slack-signature")
        if not secret or not verified(secret, body, timestamps, signatures, now()):
            return refused()
        bolt_request = parsed(request, body)
        if bolt_request is None:
            return refused()
        if not await asyncio.to_thread(first_signed_request, runtime.db, runtime.clock, timestamps[0], signatures[0]):
            metrics.slack_requests.labels(request_kind(bolt_request.body), "replay").inc()
            log.info("ignored a replayed Slack request (timestamp %s)", timestamps[0])
            return Response(status_code=200)
        return to_starlette_response(await app.async_dispatch(bolt_request))

    return endpoint
