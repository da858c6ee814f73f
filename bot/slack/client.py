"""The outbound Slack Web API client: SLACK_API_URL, slack-sdk retry handlers, error metrics."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics

SLACK_PUBLIC_API = "https://slack.com/api/"


class SlackClient(AsyncWebClient):
    """AsyncWebClient that counts the calls that still fail after its retries."""

    async def api_call(self, api_method: str, **kwargs):
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            metrics.slack_api_errors.labels(api_method, str(exc.response.get("error", "unknown"))).inc()
            raise
        except (aiohttp.ClientError, TimeoutError) as exc:
            metrics.slack_api_errors.labels(api_method, type(exc).__name__).inc()
            raise


def api_base_url(api_url: str | None) -> str:
    """slack-sdk joins method names onto the base URL, which must end with a slash."""
    url = api_url or SLACK_PUBLIC_API
    return url if url.endswith("/") else url + "/"


def make_client(token: str | None, api_url: str | None, *, max_retries: int = 3, timeout: int = 15) -> SlackClient:
    """For calls made while someone waits (look-ups, modals, answers): retried here, within seconds."""
    return SlackClient(
        token=token,
        base_url=api_base_url(api_url),
        timeout=timeout,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=max_retries),
            AsyncConnectionErrorRetryHandler(max_retry_count=max_retries),
            AsyncServerErrorRetryHandler(max_retry_count=max_retries),
        ],
    )


def make_delivery_client(token: str | None, api_url: str | None, *, timeout: int = 10) -> SlackClient:
    """For the outbox worker, which retries by itself with back-off (honouring Retry-After), so a
    call never outlasts the lane's lease by sleeping inside the client."""
    return SlackClient(token=token, base_url=api_base_url(api_url), timeout=timeout, retry_handlers=[])
