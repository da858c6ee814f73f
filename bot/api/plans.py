"""GET /api/v1/flags/{key}/plans: the flag's rollout plans, newest first."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.api.auth import guarded
from bot.rollouts import service
from bot.runtime import Runtime


def plan_json(view: service.View) -> dict:
    plan, status = view.stored.plan, view.status
    return {
        "id": plan.id,
        "flag": plan.flag,
        "environment": plan.environment,
        "template": plan.template_name,
        "state": status.state,
        "stage": plan.template.stages[status.stage].name if status.stage >= 0 else None,
        "approvals": [{"role": role, "user": user} for role, user in status.approvals],
        "events": [{"at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "detail": e.detail} for e in view.events],
    }


def routes(runtime: Runtime) -> list[Route]:
    async def plans(request: Request) -> JSONResponse:
        key = request.path_params["key"]
        found = await asyncio.to_thread(service.of_flag, runtime.db, runtime.config, key, runtime.clock.now())
        if found is None:
            return JSONResponse({"error": "not_found", "detail": f"there is no flag {key[:70]!r}"}, status_code=404)
        return JSONResponse({"plans": [plan_json(view) for view in found]})

    return [Route("/api/v1/flags/{key}/plans", guarded(runtime.env.api_token, plans), methods=["GET"])]
