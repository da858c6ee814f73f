"""Request body limits for every route, enforced while the body streams in.

A declared Content-Length over the limit is refused before the app runs; a chunked body is counted
as it arrives and refused (413) the moment it passes the limit, without reading the rest.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KiB = 1 << 10
MiB = 1 << 20
SLACK_LIMIT = 1 * MiB  # Slack's own payloads are far smaller
API_LIMIT = 1 * MiB
OFREP_LIMIT = 64 * KiB  # an evaluation context is a handful of attributes


def limit_for(path: str) -> int:
    """/slack/events and /api/ take up to 1 MiB; every other route (OFREP included) 64 KiB."""
    if path == "/slack/events":
        return SLACK_LIMIT
    if path.startswith("/api/"):
        return API_LIMIT
    return OFREP_LIMIT


class BodyTooLarge(Exception):
    """Raised from `receive` when a streamed body passes its limit; answered with 413."""

    def __init__(self, limit: int):
        super().__init__(f"the body is over {limit} bytes")
        self.limit = limit


def too_large(path: str, limit: int) -> JSONResponse:
    return JSONResponse(
        {"error": "request_too_large", "detail": f"bodies sent to {path} are limited to {limit} bytes"},
        status_code=413,
        headers={"Connection": "close"},
    )


def refusal_handler(on_refused: Callable[[str], None]):
    """The Starlette exception handler for BodyTooLarge."""

    async def handle(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BodyTooLarge)
        on_refused(request.url.path)
        return too_large(request.url.path, exc.limit)

    return handle


class BodyLimit:
    """ASGI middleware: counts body bytes per request against `limit_for(path)`."""

    def __init__(self, app: ASGIApp, on_refused: Callable[[str], None] = lambda _path: None) -> None:
        self.app = app
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = [value for name, value in scope["headers"] if name == b"content-length"]
        if declared and (not declared[0].isdigit() or int(declared[0]) > limit):
            self.on_refused(scope["path"])
            await too_large(scope["path"], limit)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)
