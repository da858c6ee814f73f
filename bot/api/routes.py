"""/api/v1/ routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api.auth import unauthorized
from bot.runtime import Runtime


def routes(runtime: Runtime) -> list[Route]:
    def guarded(handler):
        async def endpoint(request: Request):
            return unauthorized(request, runtime.env.api_token) or await handler(request)

        return endpoint

    async def products(_request: Request) -> JSONResponse:
        return JSONResponse(
            {"products": [{"key": p.key, "name": p.name, "channel": p.channel} for p in runtime.config.products]}
        )

    return [Route("/api/v1/products", guarded(products), methods=["GET"])]
