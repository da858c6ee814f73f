"""A stateful fake of Slack's Web API, response URLs and Socket Mode for the bot's tests.

It is a real aiohttp server running in a background thread, so the bot reaches it over HTTP
exactly as it reaches slack.com (point ``AsyncWebClient(base_url=...)`` at ``api_url``). It
answers like Slack (HTTP 200 with ``{"ok": false, "error": ...}`` for API errors, 429 with
``Retry-After`` for rate limits), rejects what Slack rejects, and records every call so tests
can assert on what the bot did from their own thread.

This module is the facade and the HTTP plumbing; each concern (users, conversations, messages,
views, response URLs, Socket Mode, tokens, failure injection) is a mixin in its own module, all
sharing the state set up here under one lock.
"""

import asyncio
import copy
import itertools
import json
import threading
import time
from typing import Any, Callable, Iterable, Optional

from aiohttp import WSCloseCode, web

from bot.slack.scopes import BOT_SCOPES

from .auth import Auth
from .conversations import Conversations
from .errors import SlackApiFailure
from .limits import FailureInjection
from .messages import Messages, slack_message
from .responses import ResponseUrls
from .socket_mode import SocketMode
from .users import Directory
from .views import Views

__all__ = ["FakeSlack", "SlackApiFailure", "slack_message"]

# Fields Slack accepts as JSON-encoded strings inside form-encoded bodies.
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")


class FakeSlack(Auth, Directory, Conversations, Messages, Views, ResponseUrls, SocketMode, FailureInjection):
    """Fake Slack workspace: directory, conversations, views, response URLs and Socket Mode.

    ``clock`` is the workspace's time (message ts, trigger and response_url expiry); a test or
    the demo moves it instead of sleeping.
    """

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        scopes: Optional[Iterable[str]] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bot_token = bot_token
        # The bot scopes granted at install; Slack names them in every answer's x-oauth-scopes header.
        self._installed_scopes = frozenset(BOT_SCOPES if scopes is None else scopes)
        self.scopes = set(self._installed_scopes)
        self._token_revoked = False
        self.clock = clock
        self.socket_url: Optional[str] = None  # apps.connections.open hands out this URL instead, when set
        self.app_token = app_token
        self.team_id = team_id
        self.team_name = "Fake Slack"
        self.team_domain = "fakeslack"
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.bot_name = "releasebot"
        self.app_id = "A0FAKEAPP"
        self.port: Optional[int] = None

        self._lock = threading.RLock()
        self._users: dict[str, dict] = {}
        self._channels: dict[str, dict] = {}
        self._view_ids = itertools.count(1)
        self._trigger_ids = itertools.count(1)
        self._last_ts_micros = 0
        self._reset_activity()
        self.add_user(bot_user_id, name=self.bot_name, real_name="Release Bot", is_bot=True)

        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._runner: Optional[web.AppRunner] = None
        # Connections and ack waiters live on the server's event loop thread only.
        self._sockets: list[web.WebSocketResponse] = []
        self._pending_acks: dict[str, asyncio.Future] = {}
        self._socket_ready = threading.Event()
        self._socket_tickets: set[str] = set()  # guarded by _lock; survives reset()

        self._methods: dict[str, Callable[[dict], dict]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
            "conversations.members": self._conversations_members,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }

    def _reset_activity(self) -> None:
        self._calls: list[dict] = []
        self._messages: dict[str, dict[str, dict]] = {}
        self._ephemerals: list[dict] = []
        self._views: dict[str, dict] = {}
        self._home_by_user: dict[str, str] = {}
        self._triggers: dict[str, dict] = {}
        self._response_urls: dict[str, dict] = {}
        self._responses: list[dict] = []
        self._injected: dict[str, Any] = {}
        self._failure_rates: dict[str, tuple] = {}
        self._rate_limits: dict[str, Any] = {}

    def reset(self) -> None:
        """Forget activity, injected failures and limits, and restore the install (token, scopes).

        Users, channels (archived ones too) and DMs are kept.
        """
        with self._lock:
            self._reset_activity()
            self._restore_install()

    def calls(self, method: Optional[str] = None) -> list[dict]:
        """Every request in order, failed ones included: {method, params, time, status, error}.

        Posts to response URLs are recorded with method ``"response_url"``. ``time`` is wall-clock
        time (when the request really arrived), not the workspace clock.
        """
        with self._lock:
            return copy.deepcopy([call for call in self._calls if method in (None, call["method"])])

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> "FakeSlack":
        """Serve on 127.0.0.1 with a free port from a daemon thread with its own event loop."""
        if self._thread is not None:
            raise RuntimeError("FakeSlack is already running")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fakeslack", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._thread = self._loop = self._runner = None
        self.port = None

    def __enter__(self) -> "FakeSlack":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{response_id}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    async def _shutdown(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake slack stopping")
        await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeSlack is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What slack_sdk expects as ``base_url``: it appends the method name directly."""
        return f"{self.base_url}/api/"

    # ----------------------------------------------------------------- HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict = {}
        try:
            params = await self._read_params(request)
            token = self._token(request, params)
            with self._lock:
                status, body, headers = self._dispatch(method, params, token)
        except SlackApiFailure as failure:
            status, body, headers = 200, {"ok": False, "error": failure.error, **failure.extra}, {}
        with self._lock:
            self._calls.append(
                {
                    "method": method,
                    "params": params,
                    "time": time.time(),
                    "status": status,
                    "error": None if body.get("ok") else body.get("error"),
                }
            )
        headers = {**headers, "x-oauth-scopes": ",".join(sorted(self.scopes))}
        return web.json_response(body, status=status, headers=headers)

    async def _read_params(self, request: web.Request) -> dict:
        """Merge query string and body, as Slack accepts arguments in either."""
        params = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = json.loads(await request.text())
                except ValueError:
                    raise SlackApiFailure("invalid_json") from None
                if not isinstance(body, dict):
                    raise SlackApiFailure("invalid_json")
                # Slack ignores a token inside a JSON body: it must come in the Authorization header.
                body.pop("token", None)
                params.update(body)
            else:
                params.update({key: value for key, value in (await request.post()).items() if isinstance(value, str)})
        for field in JSON_FIELDS:
            if isinstance(params.get(field), str):
                try:
                    params[field] = json.loads(params[field])
                except ValueError:
                    pass  # left as a string; the method rejects it as malformed
        return params

    @staticmethod
    def _token(request: web.Request, params: dict) -> Optional[str]:
        token = params.pop("token", None)
        authorization = request.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer ") :]
        return token

    def _dispatch(self, method: str, params: dict, token: Optional[str]) -> tuple[int, dict, dict]:
        forced = self._forced_failure(method)
        if forced is not None:
            return forced
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        try:
            self._authenticate(method, token)
            self._check_scope(method, params)
            retry_after = self._rate_limited(method, params)
            if retry_after is not None:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
            return 200, {"ok": True, **handler(params)}, {}
        except SlackApiFailure as failure:
            return 200, {"ok": False, "error": failure.error, **failure.extra}, {}
