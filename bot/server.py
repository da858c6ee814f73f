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
SOCKET_CONNECT_WAIT = 30.0


class SocketUnavailable(Exception):
    """The Socket Mode websocket did not open in time; the message says so in one line."""


class _OneLineRetries(logging.Filter):
    """slack_sdk logs each failed websocket attempt with a traceback; one line says as much."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith("Failed to connect"):
            record.exc_info, record.exc_text = None, None
        return True


async def connect_socket(runtime: Runtime, slack_app: AsyncApp, wait: float = SOCKET_CONNECT_WAIT) -> AsyncSocketModeHandler:
    """Open the websocket before anything is served or scheduled: slack_sdk would retry forever."""
    handler = AsyncSocketModeHandler(slack_app, runtime.env.slack_app_token)
    handler.client.logger.addFilter(_OneLineRetries())
    try:
        await asyncio.wait_for(handler.connect_async(), wait)
    except TimeoutError:
        await handler.close_async()
        raise SocketUnavailable(f"the Socket Mode connection to Slack did not open within {wait:.0f} s") from None
    return handler



def count_refusal(path: str) -> None:
    if path == "/slack/events":
        metrics.slack_requests.labels("unknown", "too_large").inc()


def build_asgi(
    runtime: Runtime,
    slack_app: AsyncApp,
    *,
    socket_mode: bool = False,
    run_scheduler: bool = True,
    socket: AsyncSocketModeHandler | None = None,
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
        connected = socket or (await connect_socket(runtime, slack_app) if socket_mode else None)
        scheduler = start_scheduler(runtime) if run_scheduler else None
        try:
            yield
        finally:
            if connected is not None:
                await connected.close_async()
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
