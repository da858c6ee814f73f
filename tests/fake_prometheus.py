"""A tiny fake of Prometheus' instant-query API for rollout checks: each query answers the value
set for the first registered fragment it contains (None: an empty vector, "no data"), and every
query asked is recorded (`GET /-/queries` says how many). `python -m tests.fake_prometheus
fragment=value...` runs one in its own process (the benchmark's, so it takes no time from the
bot's) and prints its URL."""

from __future__ import annotations

import asyncio
import threading
import time

from aiohttp import web


class FakePrometheus:
    def __init__(self):
        self.values: dict[str, float | None] = {}
        self.queries: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.url = ""

    def set(self, fragment: str, value: float | None) -> None:
        self.values[fragment] = value

    async def _query(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        self.queries.append(query)
        value = next((v for fragment, v in self.values.items() if fragment in query), None)
        result = [] if value is None else [{"metric": {}, "value": [time.time(), repr(float(value))]}]
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": result}})

    async def _count(self, _request: web.Request) -> web.Response:
        return web.json_response({"count": len(self.queries)})

    def start(self) -> FakePrometheus:
        ready = threading.Event()

        async def serve() -> None:
            app = web.Application()
            app.router.add_get("/api/v1/query", self._query)
            app.router.add_get("/-/queries", self._count)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=2048)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(serve())
            self._loop.run_forever()

        threading.Thread(target=run, name="fake-prometheus", daemon=True).start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._runner:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


if __name__ == "__main__":
    import sys

    fake = FakePrometheus()
    for pair in sys.argv[1:]:
        fragment, _, value = pair.partition("=")
        fake.set(fragment, float(value))
    fake.start()
    print(fake.url, flush=True)
    sys.stdin.read()  # until the parent closes our input
