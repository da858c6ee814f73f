"""Wiring and lifecycle of `releasebot demo`: a temporary folder with the sample world, the Slack
workspace emulator, the real bot on its own port talking to it through SLACK_API_URL, and the
page. Runs until SIGTERM or Ctrl-C, then stops everything and removes the folder."""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import signal
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from aiohttp import web

from bot.clock import OffsetClock
from bot.config import Environment
from bot.demo import sample
from bot.runtime import Runtime
from bot.scheduler import run_job
from bot.server import build_asgi
from bot.slack.app import build_app
from bot.slack.client import make_client
from bot.slack.fake import FakeSlack, SlackDriver
from storage import Database

log = logging.getLogger(__name__)
TICK_SECONDS = 30  # how often the demo's scheduler looks at its clock besides after each move


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Demo:
    """The sample workspace with the real bot in it; the page's handlers act through this."""

    def __init__(self, root: Path):
        self.root = root
        self.clock = OffsetClock()  # the bot's and the workspace's time, moved by the page
        self.fake = FakeSlack(bot_token="xoxb-demo", app_token="xapp-demo", team_id="T0DEMO", clock=self.clock.time)
        self.fake.team_name, self.fake.team_domain = "Acme (demo)", "acme-demo"
        self.repos = sample.SampleRepos(root, self.clock)
        self.acks: list[dict] = []  # what the bot answered in the HTTP response itself, shown privately
        self.closed_views: set[str] = set()
        self.notes: list[str] = []
        self._lock = threading.Lock()
        self.runtime: Runtime | None = None
        self.driver: SlackDriver | None = None
        self._bot_server: uvicorn.Server | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        self.fake.start()
        sample.seed_workspace(self.fake)
        config_path, config = sample.write_config(self.root)
        now = self.clock.now()
        self.clock.advance(seconds=max(0.0, (sample.start_instant(config, now) - now).total_seconds()))
        self.repos.create()
        self._open_dms()
        secret = secrets.token_hex(16)
        env = Environment.from_os({
            "SLACK_BOT_TOKEN": self.fake.bot_token,
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": self.fake.api_url,
            "DATABASE_URL": f"sqlite:///{self.root / 'releasebot.db'}",
            "RELEASEBOT_CONFIG": str(config_path),
        })
        db = Database(env.database_url)
        db.upgrade()
        self.runtime = Runtime(env=env, config=config, db=db, slack=make_client(env.slack_bot_token, env.slack_api_url), clock=self.clock)
        self._start_bot()
        self.driver = SlackDriver(self.bot_url + "/slack/events", secret, self.fake)

    def _open_dms(self) -> None:
        """In Slack everyone has a direct message with an installed app; open them up front."""
        for person in sample.PEOPLE:
            httpx.post(self.fake.api_url + "conversations.open", data={"users": person.id},
                       headers={"Authorization": f"Bearer {self.fake.bot_token}"}).raise_for_status()

    def _start_bot(self) -> None:
        app = build_asgi(self.runtime, build_app(self.runtime), run_scheduler=False)
        port = _free_port()
        self._bot_server = uvicorn.Server(uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False,
            timeout_graceful_shutdown=3,
        ))

        def serve() -> None:
            loop = asyncio.new_event_loop()
            loop.set_default_executor(ThreadPoolExecutor(max_workers=16))
            loop.run_until_complete(self._bot_server.serve())
            loop.close()

        self._bot_thread = threading.Thread(target=serve, name="releasebot-demo-bot", daemon=True)
        self._bot_thread.start()
        deadline = time.monotonic() + 15
        while not self._bot_server.started:
            if not self._bot_thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the bot did not start")
            time.sleep(0.02)
        self.bot_url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop whatever start() got to."""
        if self._bot_server is not None:
            self._bot_server.should_exit = True
            self._bot_thread.join(timeout=6)
        if self.driver is not None:
            self.driver.close()
        self.fake.stop()
        if self.runtime is not None:
            self.runtime.db.dispose()

    # ----------------------------------------------------------------- what the page asks for

    def note(self, text: str) -> None:
        with self._lock:
            local = self.clock.now().astimezone(ZoneInfo(self.runtime.config.release_hours.timezone))
            self.notes = [*self.notes[-19:], f"{local:%a %H:%M %Z} · {text}"]

    def command(self, user: str, channel: str, line: str) -> None:
        name, _, text = line.strip().partition(" ")
        response = self.driver.command(name, text.strip(), user_id=user, channel_id=channel)
        if response.status_code != 200:
            self.ack(user, channel, {"text": f"{name} failed with error \"{response.status_code}\""})
        elif response.content and response.headers.get("content-type", "").startswith("application/json"):
            self.ack(user, channel, response.json())
        elif response.content:
            self.ack(user, channel, {"text": response.text})

    def ack(self, user: str, channel: str, body: dict) -> None:
        with self._lock:
            self.acks.append({"channel": channel, "user": user, "text": body.get("text", ""),
                              "blocks": body.get("blocks"), "message_ts": f"{time.time():.6f}", "source": "ack"})

    def action(self, user: str, channel: str, action: dict) -> None:
        self.driver.block_action(
            user, action["action_id"], value=action.get("value"), block_id=action.get("block_id"),
            channel_id=channel, message_ts=action.get("message_ts"), selected_user=action.get("selected_user"),
        )

    def submit(self, user: str, view_id: str, values: dict) -> dict:
        """Submit a modal; Slack closes it unless the bot answers with errors (or another view)."""
        view = next(v for v in self.fake.views(user=user) if v["view_id"] == view_id)
        response = self.driver.view_submission(user, view["callback_id"], values, view_id=view_id)
        answer = response.json() if response.content and response.headers.get("content-type", "").startswith("application/json") else {}
        if answer.get("response_action") == "errors":
            return {"errors": answer.get("errors", {})}
        self.close_view(view_id)
        return {}

    def close_view(self, view_id: str) -> None:
        with self._lock:
            self.closed_views.add(view_id)

    def open_home(self, user: str) -> None:
        self.driver.event({"type": "app_home_opened", "user": user, "channel": self.fake.dm_channel(user), "tab": "home"})

    def seen_by(self, user: str) -> tuple[list[dict], set[str], list[str]]:
        """The answers acknowledged to `user`, the modals closed, and the demo's own notes."""
        with self._lock:
            return [a for a in self.acks if a["user"] == user], set(self.closed_views), list(self.notes)

    async def cut_now(self) -> str:
        try:
            summary = await run_job(self.runtime, "daily-candidates")
        except Exception as exc:  # a failed cut is news for the page, not a crash
            log.exception("demo cut failed")
            summary = f"failed: {exc}"
        self.note(f"daily cut: {summary}")
        return summary

    async def scheduled_jobs(self) -> None:
        """What the real scheduler would run by now on the demo's clock: the daily cut once its time
        has come on a cut day (once per day, claimed in the database) and the end of freezes."""
        for name, options in (("daily-candidates", {"scheduled": True}), ("freeze-ends", {})):
            try:
                summary = await run_job(self.runtime, name, **options)
            except Exception as exc:
                log.exception("demo job %s failed", name)
                summary = f"failed: {exc}"
            if ": cut " in summary or "failed" in summary:
                self.note(f"{name}: {summary}")

    async def move_clock(self, label: str, **delta: float) -> None:
        self.clock.advance(**delta)
        self.note(f"the clock moved forward {label}")
        await self.scheduled_jobs()


async def serve(port: int, host: str = "127.0.0.1") -> None:
    from bot.demo.web import build_web

    logging.getLogger("httpx").setLevel(logging.WARNING)  # the driver's every request is not news
    root = Path(tempfile.mkdtemp(prefix="releasebot-demo-"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    demo = Demo(root)
    runner = None
    try:
        await asyncio.to_thread(demo.start)
        runner = web.AppRunner(build_web(demo), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        actual = runner.addresses[0][1]
        print(f"releasebot demo: open http://{host}:{actual}/ (workspace in {root}; Ctrl-C stops it)", flush=True)
        ticker = asyncio.create_task(_tick(demo, stop))
        await stop.wait()
        ticker.cancel()
    finally:
        if runner is not None:
            await runner.cleanup()
        await asyncio.to_thread(demo.stop)
        shutil.rmtree(root, ignore_errors=True)


async def _tick(demo: Demo, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=TICK_SECONDS)
        except TimeoutError:
            await demo.scheduled_jobs()
