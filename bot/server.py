"""The ASGI app: Slack at /slack/events, /healthz, /metrics and the JSON API, on one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import metrics
from bot.api import ofrep
from bot.api.routes import routes as api_routes
from bot.body_limit import BodyLimit, BodyTooLarge, refusal_handler
from bot.runtime import Runtime
from bot.scheduler import start_scheduler
from bot.slack.delivery import Delivery, delivery_backlog, set_aside_counts
from bot.slack.door import slack_door

log = logging.getLogger(__name__)



def count_refusal(path: str) -> None:
    if path == "/slack/events":
        metrics.slack_requests.labels("unknown", "too_large").inc()


def build_asgi(
    runtime: Runtime,
    slack_app: AsyncApp,
    *,
    socket_mode: bool = False,
    run_scheduler: bool = True,
) -> Starlette:
    async def healthz(_request: Request) -> JSONResponse:
        if await asyncio.to_thread(runtime.db.ping):
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "database unreachable"}, status_code=503)

    async def metrics_endpoint(_request: Request) -> Response:
        try:
            count, oldest = await asyncio.to_thread(delivery_backlog, runtime)
            set_aside = await asyncio.to_thread(set_aside_counts, runtime)
        except SQLAlchemyError:
            count, oldest, set_aside = float("nan"), None, {}  # the database is down: /healthz says so
        metrics.outbox_backlog.set(count)
        metrics.outbox_set_aside.clear()
        for error, number in set_aside.items():
            metrics.outbox_set_aside.labels(error).set(number)
        metrics.outbox_oldest_age.set((runtime.clock.now() - oldest).total_seconds() if oldest else 0)
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette):
        delivery = Delivery(runtime)
        runtime.wake_delivery = delivery.wake
        worker = asyncio.create_task(delivery.run(), name="slack-delivery")
        scheduler = start_scheduler(runtime) if run_scheduler else None
        socket = None
        if socket_mode:
            socket = AsyncSocketModeHandler(slack_app, runtime.env.slack_app_token)
            await socket.connect_async()
        try:
            yield
        finally:
            if socket is not None:
                await socket.close_async()
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            delivery.stop()
            runtime.wake_delivery = lambda: None
            await asyncio.wait_for(worker, timeout=10)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *api_routes(runtime),
        *ofrep.routes(runtime),
    ]
    if not socket_mode:
        routes.append(Route("/slack/events", slack_door(runtime, slack_app), methods=["POST"]))
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(BodyLimit, on_refused=count_refusal)],
        exception_handlers={BodyTooLarge: refusal_handler(count_refusal)},
    )
