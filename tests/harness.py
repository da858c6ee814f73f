"""Run the real bot (ASGI app on uvicorn, real Bolt app) in a background thread for tests and benchmarks."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from bot.runtime import Runtime
from bot.server import build_asgi
from bot.slack.app import build_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RunningBot:
    runtime: Runtime
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def events_url(self) -> str:
        return self.url + "/slack/events"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_bot(runtime: Runtime, *, socket_mode: bool = False, run_scheduler: bool = False) -> RunningBot:
    """Start the bot on a free port and return once it accepts connections."""
    app = build_asgi(runtime, build_app(runtime, socket_mode=socket_mode), socket_mode=socket_mode, run_scheduler=run_scheduler)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="releasebot-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the bot did not start")
        time.sleep(0.01)
    return RunningBot(runtime=runtime, url=f"http://127.0.0.1:{port}", server=server, thread=thread)
