"""Flags as code: GET|PUT|DELETE /api/v1/envs/{env}/flags/{key} and PUT /api/v1/envs/{env}/flags."""

from __future__ import annotations

import asyncio

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api.auth import guarded
from bot.errors import Refused
from bot.flags import code
from bot.runtime import Runtime


def routes(runtime: Runtime) -> list[Route]:
    token = runtime.env.api_token

    def refused(refusal: Refused) -> JSONResponse:
        not_found = "There is no flag" in refusal.template
        return JSONResponse({"error": "not_found" if not_found else "unknown_environment", "detail": str(refusal)}, status_code=404)

    async def body_of(request: Request):
        try:
            return orjson.loads(await request.body())
        except orjson.JSONDecodeError as exc:
            raise code.Invalid([f"the body is not JSON ({exc})"]) from None

    async def run(request: Request, call, *args) -> JSONResponse:
        try:
            result = await asyncio.to_thread(call, runtime.db, runtime.config, *args)
        except code.Invalid as invalid:
            return JSONResponse({"error": "invalid_definition", "problems": invalid.problems}, status_code=400)
        except Refused as refusal:
            return refused(refusal)
        runtime.wake_delivery()
        return JSONResponse(result.as_json() if isinstance(result, code.Applied) else result)

    async def one(request: Request) -> JSONResponse:
        env, key = request.path_params["env"], request.path_params["key"]
        if request.method == "GET":
            return await run(request, code.definition, env, key)
        if request.method == "DELETE":
            if env not in runtime.config.flags.environments:
                return refused(Refused(f"There is no environment {env!r}"))

            def archive(db, config, key, now):
                code.archive(db, config, key, now)
                return {"key": key, "archived": True}

            return await run(request, archive, key, runtime.clock.now())
        try:
            body = await body_of(request)
        except code.Invalid as invalid:
            return JSONResponse({"error": "invalid_definition", "problems": invalid.problems}, status_code=400)
        return await run(request, code.put_flag, env, key, body, runtime.clock.now())

    async def document(request: Request) -> JSONResponse:
        try:
            body = await body_of(request)
        except code.Invalid as invalid:
            return JSONResponse({"error": "invalid_definition", "problems": invalid.problems}, status_code=400)
        return await run(request, code.put_document, request.path_params["env"], body, runtime.clock.now())

    return [
        Route("/api/v1/envs/{env}/flags/{key}", guarded(token, one), methods=["GET", "PUT", "DELETE"]),
        Route("/api/v1/envs/{env}/flags", guarded(token, document), methods=["PUT"]),
    ]
