"""Bearer-token check shared by the JSON API and the flag endpoints."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse


def unauthorized(request: Request, api_token: str | None) -> JSONResponse | None:
    """A 401 response unless the request carries the configured token; the API is closed without one."""
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if api_token and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), api_token.encode()):
        return None
    return JSONResponse(
        {"error": "unauthorized", "detail": "send Authorization: Bearer <RELEASEBOT_API_TOKEN>"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="releasebot"'},
    )


def guarded(api_token: str | None, handler):
    """The handler behind the bearer-token check."""

    async def endpoint(request: Request):
        return unauthorized(request, api_token) or await handler(request)

    return endpoint
