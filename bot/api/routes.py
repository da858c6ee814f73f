"""/api/v1/ routes."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api import flags, plans
from bot.api.auth import guarded
from bot.errors import Refused
from bot.people import digest
from bot.people.stats import figures_json
from bot.release import freezes, releasing, service
from bot.release.model import Candidate, Release
from bot.runtime import Runtime

MAX_RECORDS = 50


def candidate_json(candidate: Candidate) -> dict:
    return {
        "id": candidate.id,
        "product": candidate.product,
        "version": candidate.version,
        "state": candidate.state.value,
        "trigger": candidate.trigger.value,
        "release_manager": candidate.release_manager,
        "head_sha": candidate.head_sha,
        "created_at": candidate.created_at.isoformat(),
        "engineers": [
            {
                "user": engineer.user,
                "state": engineer.state,
                "delegate": candidate.release_manager if engineer.user is None else engineer.delegate,
            }
            for engineer in candidate.engineers
        ],
    }


def release_json(release: Release) -> dict:
    return {
        "candidate_id": release.candidate_id,
        "product": release.product,
        "version": release.version,
        "head_sha": release.head_sha,
        "base_sha": release.base_sha,
        "released_at": release.released_at.isoformat(),
        "released_by": release.released_by,
        "release_manager": release.release_manager,
        "pending_reason": release.pending_reason,
        "exception": release.exception,
        "exception_note": release.exception_note,
    }


def routes(runtime: Runtime) -> list[Route]:
    token = runtime.env.api_token

    def unknown_product(key: str | None) -> JSONResponse | None:
        if key and runtime.config.product(key):
            return None
        known = [p.key for p in runtime.config.products]
        detail = f"unknown product {key!r}" if key else "name a product: ?product=KEY"
        return JSONResponse({"error": "unknown_product", "detail": detail, "products": known}, status_code=404 if key else 400)

    async def products(_request: Request) -> JSONResponse:
        return JSONResponse(
            {"products": [{"key": p.key, "name": p.name, "channel": p.channel} for p in runtime.config.products]}
        )

    def newest_first(name: str, fetch, as_json):
        """GET …?product=KEY: the product's records, newest first."""

        async def endpoint(request: Request) -> JSONResponse:
            key = request.query_params.get("product")
            problem = unknown_product(key)
            if problem:
                return problem
            found = await asyncio.to_thread(fetch, runtime.db, key, MAX_RECORDS)
            return JSONResponse({name: [as_json(record) for record in found]})

        return endpoint

    async def gate(request: Request) -> JSONResponse:
        key = request.path_params["key"]
        problem = unknown_product(key)
        if problem:
            return problem
        now = runtime.clock.now()
        verdict = await asyncio.to_thread(freezes.verdict, runtime.db, runtime.config, key, now)
        return JSONResponse({"open": verdict.open, "reasons": list(verdict.reasons), "next_open": verdict.next_open.isoformat()})

    async def stats(request: Request) -> JSONResponse:
        """GET /api/v1/products/{key}/stats?days=N: the four DORA figures of the last N days [30]."""
        key = request.path_params["key"]
        problem = unknown_product(key)
        if problem:
            return problem
        try:
            days = digest.parse_days(request.query_params.get("days"))
        except Refused as refusal:
            return JSONResponse({"error": "bad_days", "detail": str(refusal)}, status_code=400)
        found = await asyncio.to_thread(digest.product_figures, runtime.db, runtime.config, key, runtime.clock.now(), days)
        return JSONResponse({"product": key, **figures_json(found, runtime.config.stats.failure_window)})

    return [
        Route("/api/v1/products", guarded(token, products), methods=["GET"]),
        Route("/api/v1/products/{key}/stats", guarded(token, stats), methods=["GET"]),
        Route("/api/v1/products/{key}/gate", guarded(token, gate), methods=["GET"]),
        Route("/api/v1/candidates", guarded(token, newest_first("candidates", service.history, candidate_json)), methods=["GET"]),
        Route("/api/v1/releases", guarded(token, newest_first("releases", releasing.releases_of, release_json)), methods=["GET"]),
        *flags.routes(runtime),
        *plans.routes(runtime),
    ]
