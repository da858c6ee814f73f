"""The optional per-product deploy hook, called on release before the candidate is marked released.

The body is JSON, signed with HMAC-SHA256 of the raw body in `X-Releasebot-Signature-256:
sha256=<hex>` (as GitHub signs webhooks), so the pipeline can check the call came from us. The
signed body carries a `timestamp` and a unique `delivery_id` (also sent as headers) so the pipeline
can refuse a replayed call. A redirect is a failure: a hook that moved must be reconfigured, and
following it could deploy through an address nobody chose.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Sequence

import aiohttp

from bot.config import DeployHook
from bot.release.model import Candidate, ReleaseException

SIGNATURE_HEADER = "X-Releasebot-Signature-256"
DELIVERY_HEADER = "X-Releasebot-Delivery"
TIMESTAMP_HEADER = "X-Releasebot-Timestamp"
TIMEOUT = aiohttp.ClientTimeout(total=30)


class DeployHookFailed(Exception):
    """The hook did not accept the release; the message says how it failed."""


def payload(
    candidate: Candidate, product_name: str, actor: str, exception: ReleaseException | None, note: str | None, now: dt.datetime
) -> dict:
    """One delivery: its retries carry the same `delivery_id`, so the pipeline acts on it once."""
    return {
        "delivery_id": uuid.uuid4().hex,
        "timestamp": int(now.timestamp()),
        "product": candidate.product,
        "product_name": product_name,
        "version": candidate.version,
        "head_sha": candidate.head_sha,
        "base_sha": candidate.base_sha,
        "commit_range": f"{candidate.base_sha}..{candidate.head_sha}" if candidate.base_sha else candidate.head_sha,
        "release_manager": candidate.release_manager,
        "released_by": actor,
        "exception": {"kind": exception.value, "label": exception.label, "note": note} if exception else None,
    }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def call(hook: DeployHook, body: dict, backoff: Sequence[float]) -> None:
    """POST the release; connection errors and 5xx are retried after each delay in `backoff`."""
    secret = os.environ.get(hook.secret_env)
    if not secret:
        raise DeployHookFailed(f"the secret variable {hook.secret_env} is not set")
    raw = json.dumps(body, sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, raw),
        DELIVERY_HEADER: body["delivery_id"],
        TIMESTAMP_HEADER: str(body["timestamp"]),
        "User-Agent": "releasebot",
    }
    failure = "not called"
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        for delay in [0.0, *backoff]:
            await asyncio.sleep(delay)
            try:
                async with session.post(hook.url, data=raw, headers=headers, allow_redirects=False) as response:
                    if response.status < 300:
                        return
                    failure = f"HTTP {response.status}"
                    if response.status < 400:
                        failure += " (a redirect: point deploy_hook.url at the pipeline itself)"
                    if response.status < 500:
                        break  # the pipeline refused this release, or moved; asking again will not change that
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = f"{type(exc).__name__}: {exc}"[:200]
    raise DeployHookFailed(failure)
