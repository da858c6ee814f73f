"""Body limits over real HTTP: a declared Content-Length over the limit is refused at once, and a
chunked body is refused as soon as it passes the limit, without the rest being read."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.body_limit import API_LIMIT, OFREP_LIMIT, SLACK_LIMIT, BodyLimit, BodyTooLarge, refusal_handler
from tests.conftest import API_TOKEN

CHUNK = 64 << 10
OFREP_PATHS = ["/ofrep/v1/evaluate/flags", "/ofrep/v1/evaluate/flags/new-checkout", "/envs/production/ofrep/v1/evaluate/flags"]
LIMITS = [("/slack/events", SLACK_LIMIT), ("/api/v1/products", API_LIMIT)] + [(path, OFREP_LIMIT) for path in OFREP_PATHS]


class Stream:
    """A generator body that counts what the client was asked for: proof of what the server read."""

    def __init__(self, total: int):
        self.total, self.pulled = total, 0

    def __iter__(self):
        while self.pulled < self.total:
            chunk = b"x" * min(CHUNK, self.total - self.pulled)
            self.pulled += len(chunk)
            yield chunk


def post(url: str, content, headers: dict | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {API_TOKEN}", **(headers or {})}
    return httpx.post(url, content=content, headers=headers, timeout=10)


def assert_refused(response: httpx.Response, path: str, limit: int) -> None:
    assert response.status_code == 413
    assert response.json() == {"error": "request_too_large", "detail": f"bodies sent to {path} are limited to {limit} bytes"}


@pytest.mark.parametrize(("path", "limit"), LIMITS)
def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_read(bot, fake_slack, path, limit):
    for declared in (limit + 1, 1 << 30):
        body = Stream(declared)
        response = post(bot.url + path, iter(body), headers={"Content-Length": str(declared)})
        assert_refused(response, path, limit)
    assert body.pulled < 64 << 20  # of the gibibyte, only what the kernel buffered before the answer
    assert fake_slack.calls() == []


@pytest.mark.parametrize(("path", "limit"), [("/slack/events", SLACK_LIMIT)] + [(path, OFREP_LIMIT) for path in OFREP_PATHS])
def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(bot, fake_slack, path, limit):
    body = Stream(1 << 30)  # a gibibyte, if the server kept reading
    response = post(bot.url + path, iter(body))
    assert_refused(response, path, limit)
    assert body.pulled < 64 << 20
    assert fake_slack.calls() == []
    if path == "/slack/events":
        metrics = httpx.get(bot.url + "/metrics").text
        assert 'releasebot_slack_requests_total{kind="unknown",outcome="too_large"}' in metrics


def test_a_signed_slash_command_sent_chunked_is_served(bot, slack, fake_slack):
    body = urlencode({"command": "/rc", "text": "help", "user_id": "U0DANA", "channel_id": "C0CHECKOUT",
                      "team_id": fake_slack.team_id, "response_url": fake_slack.new_response_url()}).encode()
    timestamp = int(time.time())
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(timestamp),
               "X-Slack-Signature": slack.sign(body, timestamp)}
    response = httpx.post(bot.events_url, content=iter([body[:10], body[10:]]), headers=headers)
    assert response.status_code == 200
    assert "/rc status [product]" in response.json()["text"]


@pytest.mark.parametrize("chunked", [False, True])
def test_an_evaluation_context_of_exactly_the_limit_is_evaluated(bot, chunked):
    prefix, suffix = b'{"context": {"targetingKey": "user-1", "padding": "', b'"}}'
    body = prefix + b"p" * (OFREP_LIMIT - len(prefix) - len(suffix)) + suffix
    assert len(body) == OFREP_LIMIT
    content = iter([body[:1000], body[1000:]]) if chunked else body
    response = post(bot.url + "/ofrep/v1/evaluate/flags", content)
    assert response.status_code == 200 and "flags" in response.json()
    over = post(bot.url + "/ofrep/v1/evaluate/flags", iter([body, b" "]) if chunked else body + b" ")
    assert_refused(over, "/ofrep/v1/evaluate/flags", OFREP_LIMIT)


async def echo_length(request: Request) -> JSONResponse:
    return JSONResponse({"length": len(await request.body())})


def echo_app() -> Starlette:
    """The real middleware in front of an /api/v1 route that reads its body (today's are all GETs)."""
    return Starlette(
        routes=[Route("/api/v1/echo", echo_length, methods=["POST"])],
        middleware=[Middleware(BodyLimit)],
        exception_handlers={BodyTooLarge: refusal_handler(lambda _path: None)},
    )


@pytest.mark.parametrize("chunked", [False, True])
def test_the_api_reads_up_to_a_mebibyte_and_refuses_more(chunked):
    asyncio.run(api_reads_up_to_a_mebibyte(chunked))


async def api_reads_up_to_a_mebibyte(chunked: bool) -> None:
    async def chunks(total: int):
        for start in range(0, total, CHUNK):
            yield b"x" * min(CHUNK, total - start)

    transport = httpx.ASGITransport(app=echo_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        for size, status in ((API_LIMIT, 200), (API_LIMIT + 1, 413)):
            content = chunks(size) if chunked else b"x" * size
            response = await client.post("/api/v1/echo", content=content)
            assert response.status_code == status
        assert json.loads(response.text)["error"] == "request_too_large"
