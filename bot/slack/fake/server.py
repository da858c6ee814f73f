"""A stateful fake of Slack's Web API, response URLs and Socket Mode for the bot's tests.

It is a real aiohttp server running in a background thread, so the bot reaches it over HTTP
exactly as it reaches slack.com (point ``AsyncWebClient(base_url=...)`` at ``api_url``). It
answers like Slack (HTTP 200 with ``{"ok": false, "error": ...}`` for API errors, 429 with
``Retry-After`` for rate limits), rejects what Slack rejects, and records every call so tests
can assert on what the bot did from their own thread.
"""

import asyncio
import base64
import binascii
import copy
import itertools
import json
import math
import random
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import WSCloseCode, WSMsgType, web

from bot.slack.scopes import BOT_SCOPES

from .validation import message_block_errors, view_errors

# Fields Slack accepts as JSON-encoded strings inside form-encoded bodies.
JSON_FIELDS = ("blocks", "attachments", "view", "metadata")
MAX_TEXT_CHARS = 40_000
# Slack lets a trigger_id be exchanged once, within 3 seconds of the interaction.
TRIGGER_TTL_SECONDS = 3.0
# Slack accepts at most 5 posts to one response_url.
RESPONSE_URL_MAX_USES = 5
MEMBERS_MAX_LIMIT = 1000

# Slack's tz_label is the long zone name; zoneinfo only knows the abbreviation.
TZ_LABELS = {
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "UTC": "Coordinated Universal Time",
}


class SlackApiFailure(Exception):
    """Raised by a method handler to answer ``{"ok": false, "error": ...}`` with HTTP 200."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _invalid(error: str, problems: list[str]) -> SlackApiFailure:
    """Slack reports schema problems both as ``errors`` and as ``response_metadata.messages``."""
    return SlackApiFailure(
        error,
        errors=problems,
        response_metadata={"messages": [f"[ERROR] {problem}" for problem in problems]},
    )


def slack_message(message: dict) -> dict:
    """A message record in the shape Slack uses in API responses and interaction payloads."""
    hidden = ("channel", "versions")
    shaped = {key: value for key, value in copy.deepcopy(message).items() if key not in hidden and value is not None}
    if not shaped.get("reply_count"):
        shaped.pop("reply_count", None)
    return shaped


@dataclass
class _InjectedFailure:
    status: int
    retry_after: int
    error: Optional[str]


class _TokenBucket:
    """Slack-style limiter: short bursts pass, then 429 with the seconds until the next slot."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.capacity = max(1.0, per_second)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def retry_after(self) -> Optional[int]:
        """Take one slot and return None, or return the whole seconds to wait."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, math.ceil((1 - self.tokens) / self.per_second))


@dataclass
class _RateLimit:
    per_second: float
    per_channel: bool
    buckets: dict = field(default_factory=dict)


class FakeSlack:
    """Fake Slack workspace: directory, conversations, views, response URLs and Socket Mode."""

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        app_token: str = "xapp-test",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        scopes: Optional[Iterable[str]] = None,
    ) -> None:
        self.bot_token = bot_token
        # The bot scopes granted at install; Slack names them in every answer's x-oauth-scopes header.
        self.scopes = set(BOT_SCOPES if scopes is None else scopes)
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
        self._injected: dict[str, deque] = {}
        self._failure_rates: dict[str, tuple[float, random.Random]] = {}
        self._rate_limits: dict[str, _RateLimit] = {}

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

    # ----------------------------------------------------------------- directory

    def add_user(
        self,
        user_id: str,
        name: Optional[str] = None,
        real_name: Optional[str] = None,
        email: Optional[str] = None,
        tz: str = "America/New_York",
        is_bot: bool = False,
        deleted: bool = False,
    ) -> None:
        name = name or user_id.lower()
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "name": name,
                "real_name": real_name or name,
                "email": email,
                "tz": tz,
                "is_bot": is_bot,
                "deleted": deleted,
            }

    def add_channel(
        self, channel_id: str, name: Optional[str] = None, members: tuple = (), bot_member: bool = True
    ) -> None:
        """Register a channel (C... public, G... private); the bot joins unless bot_member=False."""
        if not channel_id.startswith(("C", "G")):
            raise ValueError(f"channel ids start with C or G, got {channel_id!r}")
        listed = ([self.bot_user_id] if bot_member else []) + list(members)
        with self._lock:
            self._channels[channel_id] = {
                "id": channel_id,
                "name": name or channel_id.lower(),
                "members": list(dict.fromkeys(listed)),
                "is_im": False,
                "is_private": channel_id.startswith("G"),
                "user": None,
            }

    def user(self, user_id: str) -> Optional[dict]:
        with self._lock:
            return copy.deepcopy(self._users.get(user_id))

    def channel(self, channel_id: str) -> Optional[dict]:
        with self._lock:
            return copy.deepcopy(self._channels.get(channel_id))

    def post_user_message(
        self, channel: str, user: str, text: str, thread_ts: Optional[str] = None, blocks: Optional[list] = None
    ) -> str:
        """Seed a message written by a human, e.g. one the bot must not be able to edit; returns its ts."""
        with self._lock:
            try:
                channel_id = self._resolve_channel(channel)["id"]
            except SlackApiFailure:
                raise ValueError(f"unknown channel {channel!r}; add_channel() it first") from None
            message = self._store_message(
                channel_id, user=user, text=text, blocks=blocks, attachments=None, thread_ts=thread_ts
            )
            return message["ts"]

    # ----------------------------------------------------------------- state queries

    def calls(self, method: Optional[str] = None) -> list[dict]:
        """Every request in order, failed ones included: {method, params, time, status, error}.

        Posts to response URLs are recorded with method ``"response_url"``.
        """
        with self._lock:
            return copy.deepcopy([call for call in self._calls if method in (None, call["method"])])

    def messages(self, channel: str) -> list[dict]:
        """Top-level messages of a channel, oldest first."""
        with self._lock:
            stored = self._messages.get(channel, {}).values()
            reply_counts = Counter(m["thread_ts"] for m in stored if m["thread_ts"] not in (None, m["ts"]))
            return [
                self._public_message(message, reply_counts[message["ts"]])
                for message in stored
                if message["thread_ts"] in (None, message["ts"])
            ]

    def thread(self, channel: str, ts: str) -> list[dict]:
        """Replies in the thread rooted at ``ts``, oldest first (the parent is not included)."""
        with self._lock:
            return [self._public_message(message) for message in self._replies(channel, ts)]

    def message(self, channel: str, ts: str) -> Optional[dict]:
        with self._lock:
            message = self._messages.get(channel, {}).get(ts)
            return self._public_message(message) if message else None

    def dm_channel(self, user_id: str) -> Optional[str]:
        """The bot's DM channel id with that user, or None if none was opened yet."""
        with self._lock:
            dm_id = self._dm_id(user_id)
            return dm_id if dm_id in self._channels else None

    def dms(self, user_id: str) -> list[dict]:
        """Every message (thread replies included) in the bot's DM with that user, oldest first."""
        with self._lock:
            return [self._public_message(m) for m in self._messages.get(self._dm_id(user_id), {}).values()]

    def ephemerals(self, channel: Optional[str] = None, user: Optional[str] = None) -> list[dict]:
        """Ephemeral messages: {channel, user, text, blocks, attachments, thread_ts, message_ts, source}."""
        with self._lock:
            return copy.deepcopy(
                [
                    ephemeral
                    for ephemeral in self._ephemerals
                    if channel in (None, ephemeral["channel"]) and user in (None, ephemeral["user"])
                ]
            )

    def views(self, user: Optional[str] = None) -> list[dict]:
        """Latest state of each modal, in opening order: Slack's view object plus view_id and user."""
        with self._lock:
            return [
                self._public_view(view_id)
                for view_id, record in self._views.items()
                if record["view"]["type"] == "modal" and user in (None, record["user"])
            ]

    def home(self, user: str) -> Optional[dict]:
        """The Home tab last published for the user, or None."""
        with self._lock:
            view_id = self._home_by_user.get(user)
            return self._public_view(view_id) if view_id else None

    def responses(self, response_url: Optional[str] = None) -> list[dict]:
        """Bodies accepted by response URLs, in order."""
        with self._lock:
            return copy.deepcopy(
                [entry["body"] for entry in self._responses if response_url in (None, entry["response_url"])]
            )

    def new_trigger_id(self, user_id: Optional[str] = None, ttl: float = TRIGGER_TTL_SECONDS) -> str:
        """Issue a trigger_id the way an interaction would; views.* accept it once within ``ttl``."""
        with self._lock:
            trigger_id = f"{int(time.time())}.{next(self._trigger_ids)}.{uuid.uuid4().hex}"
            self._triggers[trigger_id] = {"user": user_id, "expires": time.monotonic() + ttl, "used": False}
            return trigger_id

    def new_response_url(
        self, channel_id: Optional[str] = None, user_id: Optional[str] = None, message_ts: Optional[str] = None
    ) -> str:
        """Issue a response URL; with ``message_ts`` it can replace or delete that message."""
        response_id = uuid.uuid4().hex
        url = f"{self.base_url}/response/{response_id}"
        with self._lock:
            self._response_urls[response_id] = {
                "url": url,
                "channel": channel_id,
                "user": user_id,
                "message_ts": message_ts,
                "uses": 0,
            }
        return url

    def reset(self) -> None:
        """Forget activity, injected failures and limits; keep users, channels and DMs."""
        with self._lock:
            self._reset_activity()

    # ----------------------------------------------------------------- failure injection

    def fail_next(
        self, method: str, count: int = 1, status: int = 429, retry_after: int = 1, error: Optional[str] = None
    ) -> None:
        """Make the next ``count`` calls fail: 429 + Retry-After, another HTTP status, or an API error.

        429 answers ``{"ok": false, "error": "ratelimited"}``; other statuses answer
        ``{"ok": false, "error": "internal_error"}``. With ``error`` the answer is HTTP 200
        ``{"ok": false, "error": error}`` whatever ``status`` is.
        """
        with self._lock:
            queue = self._injected.setdefault(method, deque())
            queue.extend(_InjectedFailure(status, retry_after, error) for _ in range(count))

    def rate_limit(self, method: str, per_second: Optional[float], per_channel: bool = True) -> None:
        """Answer 429 with the right Retry-After once ``method`` exceeds ``per_second`` (None removes)."""
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive")
        with self._lock:
            if per_second is None:
                self._rate_limits.pop(method, None)
            else:
                self._rate_limits[method] = _RateLimit(per_second, per_channel)

    def failure_rate(self, method: str, fraction: float, seed: int = 0) -> None:
        """Fail a reproducible, seeded-random ``fraction`` of ``method`` calls with HTTP 500."""
        with self._lock:
            self._failure_rates[method] = (fraction, random.Random(seed))

    # ----------------------------------------------------------------- Socket Mode

    def socket_connected(self, timeout: float = 5.0) -> bool:
        """Wait until a Socket Mode client is connected."""
        return self._socket_ready.wait(timeout)

    def socket_send(self, type: str, payload: dict, timeout: float = 5.0) -> dict:
        """Deliver an envelope to the newest Socket Mode connection and return the client's ack.

        Raises TimeoutError if no client is connected or none acknowledges within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        if not self.socket_connected(timeout):
            raise TimeoutError("no Socket Mode client connected")
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": type,
            "payload": payload,
            "accepts_response_payload": type != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        remaining = max(0.0, deadline - time.monotonic())
        return asyncio.run_coroutine_threadsafe(self._socket_send(envelope, remaining), self._loop).result()

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask connected clients to reconnect, as Slack does before recycling a connection."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fakeslack-socket"}}
        asyncio.run_coroutine_threadsafe(self._broadcast(message), self._loop).result(timeout=5)

    async def _socket_send(self, envelope: dict, timeout: float) -> dict:
        if not self._sockets:
            raise TimeoutError("the Socket Mode client disconnected")
        ack = self._loop.create_future()
        self._pending_acks[envelope["envelope_id"]] = ack
        try:
            await self._sockets[-1].send_json(envelope)
            return await asyncio.wait_for(ack, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no ack for {envelope['type']} envelope within {timeout:.1f}s") from None
        finally:
            self._pending_acks.pop(envelope["envelope_id"], None)

    async def _broadcast(self, message: dict) -> None:
        for ws in list(self._sockets):
            await ws.send_json(message)

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            known_ticket = request.query.get("ticket") in self._socket_tickets
        if not known_ticket:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        self._socket_ready.set()
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
                    "debug_info": {"host": "fakeslack-socket", "build_number": 1, "approximate_connection_time": 18060},
                    "connection_info": {"app_id": self.app_id},
                }
            )
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._receive_ack(frame.data)
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self._socket_ready.clear()
        return ws

    def _receive_ack(self, raw: str) -> None:
        try:
            ack = json.loads(raw)
        except ValueError:
            return
        waiter = self._pending_acks.get(ack.get("envelope_id")) if isinstance(ack, dict) else None
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)

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
        injected = self._injected.get(method)
        if injected:
            return self._injected_response(injected.popleft())
        fraction, rng = self._failure_rates.get(method, (0.0, None))
        if rng is not None and rng.random() < fraction:
            return 500, {"ok": False, "error": "internal_error"}, {}
        handler = self._methods.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        try:
            self._authenticate(method, token)
            retry_after = self._rate_limited(method, params)
            if retry_after is not None:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
            return 200, {"ok": True, **handler(params)}, {}
        except SlackApiFailure as failure:
            return 200, {"ok": False, "error": failure.error, **failure.extra}, {}

    @staticmethod
    def _injected_response(failure: _InjectedFailure) -> tuple[int, dict, dict]:
        if failure.error is not None:
            return 200, {"ok": False, "error": failure.error}, {}
        if failure.status == 429:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(failure.retry_after)}
        return failure.status, {"ok": False, "error": "internal_error"}, {}

    def _authenticate(self, method: str, token: Optional[str]) -> None:
        if not token:
            raise SlackApiFailure("not_authed")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if token == expected:
            return
        if token in (self.app_token, self.bot_token):
            raise SlackApiFailure("not_allowed_token_type")
        raise SlackApiFailure("invalid_auth")

    def _rate_limited(self, method: str, params: dict) -> Optional[int]:
        limit = self._rate_limits.get(method)
        if limit is None:
            return None
        key = params.get("channel") if limit.per_channel else None
        bucket = limit.buckets.setdefault(key, _TokenBucket(limit.per_second))
        return bucket.retry_after()

    # ----------------------------------------------------------------- helpers (lock held)

    def _next_ts(self) -> str:
        """Slack message timestamps: unique, increasing, 'seconds.micros'."""
        micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    @staticmethod
    def _dm_id(user_id: str) -> str:
        return "D" + user_id[1:]

    def _open_dm(self, user_id: str) -> dict:
        dm_id = self._dm_id(user_id)
        if dm_id not in self._channels:
            self._channels[dm_id] = {
                "id": dm_id,
                "name": dm_id.lower(),
                "members": [user_id, self.bot_user_id],
                "is_im": True,
                "is_private": True,
                "user": user_id,
            }
        return self._channels[dm_id]

    def _resolve_channel(self, channel: Any) -> dict:
        """Find a conversation by id or #name; a user id means the bot's DM with them, as in Slack."""
        if not isinstance(channel, str) or not channel:
            raise SlackApiFailure("channel_not_found")
        if channel in self._channels:
            return self._channels[channel]
        if channel.startswith("#"):
            for candidate in self._channels.values():
                if candidate["name"] == channel[1:] and not candidate["is_im"]:
                    return candidate
        if channel.startswith(("U", "W")) and channel in self._users:
            return self._open_dm(channel)
        raise SlackApiFailure("channel_not_found")

    def _find_message(self, channel_id: str, ts: Any) -> dict:
        message = self._messages.get(channel_id, {}).get(ts) if isinstance(ts, str) else None
        if message is None:
            raise SlackApiFailure("message_not_found")
        return message

    def _replies(self, channel_id: str, thread_ts: str) -> list[dict]:
        return [
            message
            for message in self._messages.get(channel_id, {}).values()
            if message["thread_ts"] == thread_ts and message["ts"] != thread_ts
        ]

    def _message_content(self, params: dict) -> tuple[str, Optional[list], Optional[list]]:
        """Validate text/blocks/attachments the way chat.postMessage does."""
        text = params.get("text")
        text = "" if text is None else str(text)
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        if blocks is not None:
            if not isinstance(blocks, list):
                raise SlackApiFailure("invalid_blocks_format")
            problems = message_block_errors(blocks)
            if problems:
                raise _invalid(problems.error, problems)
        if attachments is not None and not isinstance(attachments, list):
            raise SlackApiFailure("invalid_attachments")
        if not (text or blocks or attachments or params.get("markdown_text")):
            raise SlackApiFailure("no_text")
        if len(text) > MAX_TEXT_CHARS:
            raise SlackApiFailure("msg_too_long")
        return text, blocks, attachments

    def _store_message(
        self,
        channel_id: str,
        *,
        user: str,
        text: str,
        blocks: Optional[list],
        attachments: Optional[list],
        thread_ts: Optional[str],
    ) -> dict:
        channel_messages = self._messages.setdefault(channel_id, {})
        parent = channel_messages.get(thread_ts) if thread_ts else None
        if parent is not None:
            # A reply to a reply joins the root's thread; the root becomes a thread parent.
            thread_ts = parent["thread_ts"] or parent["ts"]
            root = channel_messages.get(thread_ts)
            if root is not None:
                root["thread_ts"] = thread_ts
        is_bot = user == self.bot_user_id
        message = {
            "type": "message",
            "ts": self._next_ts(),
            "channel": channel_id,
            "team": self.team_id,
            "user": user,
            "bot_id": self.bot_id if is_bot else None,
            "app_id": self.app_id if is_bot else None,
            "text": text,
            "blocks": blocks,
            "attachments": attachments,
            "thread_ts": thread_ts,
            "edited": None,
            "versions": [],
        }
        channel_messages[message["ts"]] = message
        return message

    def _public_message(self, message: dict, reply_count: Optional[int] = None) -> dict:
        """A copy with reply_count; pass the count when listing many messages to avoid rescans."""
        public = copy.deepcopy(message)
        if reply_count is None:
            is_parent = message["thread_ts"] == message["ts"]
            reply_count = len(self._replies(message["channel"], message["ts"])) if is_parent else 0
        public["reply_count"] = reply_count
        return public

    def _user_object(self, user: dict) -> dict:
        try:
            local_now = datetime.now(ZoneInfo(user["tz"]))
            offset = int(local_now.utcoffset().total_seconds())
            abbreviation = local_now.tzname()
        except ZoneInfoNotFoundError:
            offset, abbreviation = 0, "UTC"
        profile = {
            "real_name": user["real_name"],
            "real_name_normalized": user["real_name"],
            "display_name": user["name"],
            "display_name_normalized": user["name"],
            "team": self.team_id,
        }
        if user["is_bot"]:
            profile["bot_id"] = self.bot_id if user["id"] == self.bot_user_id else "B" + user["id"][1:]
        elif user["email"]:
            profile["email"] = user["email"]
        return {
            "id": user["id"],
            "team_id": self.team_id,
            "name": user["name"],
            "deleted": user["deleted"],
            "real_name": user["real_name"],
            "tz": user["tz"],
            "tz_label": TZ_LABELS.get(abbreviation, abbreviation),
            "tz_offset": offset,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": user["is_bot"],
            "is_app_user": False,
            "updated": 1700000000,
        }

    # ----------------------------------------------------------------- Web API methods

    def _auth_test(self, params: dict) -> dict:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: dict) -> dict:
        ticket = uuid.uuid4().hex
        self._socket_tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/socket?ticket={ticket}&app_id={self.app_id}"}

    def _chat_post_message(self, params: dict) -> dict:
        channel = self._resolve_channel(params.get("channel"))
        if self.bot_user_id not in channel["members"]:
            raise SlackApiFailure("not_in_channel")
        text, blocks, attachments = self._message_content(params)
        message = self._store_message(
            channel["id"],
            user=self.bot_user_id,
            text=text,
            blocks=blocks,
            attachments=attachments,
            thread_ts=params.get("thread_ts") or None,
        )
        if message["thread_ts"] and str(params.get("reply_broadcast")).lower() in ("true", "1"):
            message["subtype"] = "thread_broadcast"  # shown in the channel as well as in the thread
        if isinstance(params.get("metadata"), dict):
            message["metadata"] = params["metadata"]
        return {"channel": channel["id"], "ts": message["ts"], "message": slack_message(message)}

    def _chat_update(self, params: dict) -> dict:
        channel = self._resolve_channel(params.get("channel"))
        message = self._find_message(channel["id"], params.get("ts"))
        if message["user"] != self.bot_user_id:
            raise SlackApiFailure("cant_update_message")
        text, blocks, attachments = self._message_content(params)
        message["versions"].append({"text": message["text"], "blocks": copy.deepcopy(message["blocks"])})
        message["text"] = text
        # Slack keeps the previous blocks/attachments when the update omits them.
        if "blocks" in params:
            message["blocks"] = blocks
        if "attachments" in params:
            message["attachments"] = attachments
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {"channel": channel["id"], "ts": message["ts"], "text": text, "message": slack_message(message)}

    def _chat_post_ephemeral(self, params: dict) -> dict:
        channel = self._resolve_channel(params.get("channel"))
        if self.bot_user_id not in channel["members"]:
            raise SlackApiFailure("not_in_channel")
        if params.get("user") not in channel["members"]:
            raise SlackApiFailure("user_not_in_channel")
        text, blocks, attachments = self._message_content(params)
        message_ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": channel["id"],
                "user": params["user"],
                "text": text,
                "blocks": blocks,
                "attachments": attachments,
                "thread_ts": params.get("thread_ts"),
                "message_ts": message_ts,
                "source": "chat.postEphemeral",
            }
        )
        return {"message_ts": message_ts}

    def _chat_get_permalink(self, params: dict) -> dict:
        channel = self._resolve_channel(params.get("channel"))
        message = self._find_message(channel["id"], params.get("message_ts"))
        permalink = f"https://{self.team_domain}.slack.com/archives/{channel['id']}/p{message['ts'].replace('.', '')}"
        if message["thread_ts"] not in (None, message["ts"]):
            permalink += f"?thread_ts={message['thread_ts']}&cid={channel['id']}"
        return {"channel": channel["id"], "permalink": permalink}

    def _conversations_open(self, params: dict) -> dict:
        users = params.get("users")
        if isinstance(users, str):
            users = [user for user in users.split(",") if user]
        if not users:
            raise SlackApiFailure("users_list_not_supplied")
        if len(users) > 1:
            raise SlackApiFailure("fake_slack_does_not_support_group_dms")
        user = self._users.get(users[0])
        if user is None:
            raise SlackApiFailure("user_not_found")
        if user["deleted"]:
            raise SlackApiFailure("user_disabled")
        already_open = self._dm_id(user["id"]) in self._channels
        channel = self._open_dm(user["id"])
        result: dict = {"channel": {"id": channel["id"]}}
        if already_open:
            result.update(no_op=True, already_open=True)
        return result

    def _conversations_members(self, params: dict) -> dict:
        channel = self._resolve_channel(params.get("channel"))
        try:
            limit = int(params.get("limit") or 100)
        except (TypeError, ValueError):
            raise SlackApiFailure("invalid_limit") from None
        if not 1 <= limit <= MEMBERS_MAX_LIMIT:
            raise SlackApiFailure("invalid_limit")
        members = channel["members"]
        start = 0
        if params.get("cursor"):
            start = self._cursor_position(params["cursor"], members)
        page = members[start : start + limit]
        more = start + limit < len(members)
        next_cursor = self._cursor_for(members[start + limit]) if more else ""
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_history(self, params: dict) -> dict:
        """Top-level messages (and thread broadcasts), newest first, after `oldest`."""
        channel = self._resolve_history_channel(params.get("channel"))
        oldest = float(params.get("oldest") or 0)
        limit = min(int(params.get("limit") or 100), 999)
        stored = sorted(self._messages.get(channel["id"], {}).values(), key=lambda m: float(m["ts"]), reverse=True)
        shown = [
            m for m in stored
            if float(m["ts"]) > oldest and (m["thread_ts"] in (None, m["ts"]) or m.get("subtype") == "thread_broadcast")
        ]
        return {"messages": [self._history_message(m, params) for m in shown[:limit]], "has_more": len(shown) > limit}

    def _conversations_replies(self, params: dict) -> dict:
        channel = self._resolve_history_channel(params.get("channel"))
        parent = self._find_message(channel["id"], params.get("ts"))
        thread = [parent, *self._replies(channel["id"], parent["ts"])]
        return {"messages": [self._history_message(m, params) for m in thread], "has_more": False}

    def _resolve_history_channel(self, channel: Any) -> dict:
        """History takes conversation ids only (C, G or D), unlike chat.postMessage."""
        if not isinstance(channel, str) or channel not in self._channels:
            raise SlackApiFailure("channel_not_found")
        return self._channels[channel]

    @staticmethod
    def _history_message(message: dict, params: dict) -> dict:
        shaped = slack_message(message)
        if str(params.get("include_all_metadata")).lower() not in ("true", "1"):
            shaped.pop("metadata", None)
        return shaped

    @staticmethod
    def _cursor_for(member: str) -> str:
        """Slack's member cursors are base64 of 'user:<id of the next member>'."""
        return base64.b64encode(f"user:{member}".encode()).decode()

    @staticmethod
    def _cursor_position(cursor: str, members: list[str]) -> int:
        try:
            decoded = base64.b64decode(cursor, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise SlackApiFailure("invalid_cursor") from None
        prefix, _, member = decoded.partition(":")
        if prefix != "user" or member not in members:
            raise SlackApiFailure("invalid_cursor")
        return members.index(member)

    def _users_info(self, params: dict) -> dict:
        user = self._users.get(params.get("user"))
        if user is None:
            raise SlackApiFailure("user_not_found")
        return {"user": self._user_object(user)}

    def _users_lookup_by_email(self, params: dict) -> dict:
        email = str(params.get("email") or "").lower()
        for user in self._users.values():
            if email and (user["email"] or "").lower() == email:
                return {"user": self._user_object(user)}
        raise SlackApiFailure("users_not_found")

    # ----------------------------------------------------------------- views

    def _checked_trigger(self, params: dict) -> dict:
        trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
        if not trigger_id:
            raise _invalid("invalid_arguments", ["missing required field: trigger_id"])
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            raise SlackApiFailure("invalid_trigger_id")
        if trigger["used"]:
            raise SlackApiFailure("exchanged_trigger_id")
        if time.monotonic() > trigger["expires"]:
            raise SlackApiFailure("expired_trigger_id")
        return trigger

    @staticmethod
    def _checked_view(view: Any, allowed_types: set[str]) -> dict:
        problems = view_errors(view, allowed_types)
        if problems:
            raise _invalid("invalid_arguments", problems)
        return view

    def _check_external_id(self, view: dict, own_view_id: Optional[str] = None) -> None:
        external_id = view.get("external_id")
        if not external_id:
            return
        for view_id, record in self._views.items():
            if view_id != own_view_id and record["view"]["external_id"] == external_id:
                raise SlackApiFailure("duplicate_external_id")

    def _render_view(self, view: dict, view_id: str, root_view_id: str, previous_view_id: Optional[str]) -> dict:
        """The view object Slack returns and later echoes in interaction payloads."""
        rendered = {
            "id": view_id,
            "team_id": self.team_id,
            "type": view["type"],
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{uuid.uuid4().hex[:8]}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_view_id,
            "previous_view_id": previous_view_id,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        for key in ("title", "submit", "close"):
            if key in view:
                rendered[key] = copy.deepcopy(view[key])
        return rendered

    def _public_view(self, view_id: str) -> dict:
        record = self._views[view_id]
        return {**copy.deepcopy(record["view"]), "view_id": view_id, "user": record["user"]}

    def _views_open(self, params: dict) -> dict:
        trigger = self._checked_trigger(params)
        view = self._checked_view(params.get("view"), {"modal"})
        self._check_external_id(view)
        view_id = f"V{next(self._view_ids):08d}"
        rendered = self._render_view(view, view_id, root_view_id=view_id, previous_view_id=None)
        self._views[view_id] = {"user": trigger["user"], "view": rendered}
        trigger["used"] = True
        return {"view": copy.deepcopy(rendered)}

    def _views_push(self, params: dict) -> dict:
        trigger = self._checked_trigger(params)
        view = self._checked_view(params.get("view"), {"modal"})
        self._check_external_id(view)
        user_modals = [
            record["view"]
            for record in self._views.values()
            if record["user"] == trigger["user"] and record["view"]["type"] == "modal"
        ]
        previous = user_modals[-1] if user_modals else None
        view_id = f"V{next(self._view_ids):08d}"
        root_view_id = previous["root_view_id"] if previous else view_id
        rendered = self._render_view(view, view_id, root_view_id, previous["id"] if previous else None)
        self._views[view_id] = {"user": trigger["user"], "view": rendered}
        trigger["used"] = True
        return {"view": copy.deepcopy(rendered)}

    def _views_update(self, params: dict) -> dict:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (vid for vid, rec in self._views.items() if rec["view"]["external_id"] == params["external_id"]),
                None,
            )
        if not view_id and not params.get("external_id"):
            raise _invalid("invalid_arguments", ["either view_id or external_id is required"])
        record = self._views.get(view_id)
        if record is None:
            raise SlackApiFailure("not_found")
        current = record["view"]
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackApiFailure("hash_conflict")
        view = self._checked_view(params.get("view"), {current["type"]})
        self._check_external_id(view, own_view_id=view_id)
        # An update without external_id keeps the view addressable by its old one.
        view = {"external_id": current["external_id"], **view}
        record["view"] = self._render_view(view, view_id, current["root_view_id"], current["previous_view_id"])
        return {"view": copy.deepcopy(record["view"])}

    def _views_publish(self, params: dict) -> dict:
        user_id = params.get("user_id")
        if user_id not in self._users:
            raise _invalid("invalid_arguments", ["invalid `user_id`"])
        view = self._checked_view(params.get("view"), {"home"})
        view_id = self._home_by_user.get(user_id)
        if view_id and params.get("hash") and params["hash"] != self._views[view_id]["view"]["hash"]:
            raise SlackApiFailure("hash_conflict")
        self._check_external_id(view, own_view_id=view_id)
        view_id = view_id or f"V{next(self._view_ids):08d}"
        rendered = self._render_view(view, view_id, root_view_id=view_id, previous_view_id=None)
        self._views[view_id] = {"user": user_id, "view": rendered}
        self._home_by_user[user_id] = view_id
        return {"view": copy.deepcopy(rendered)}

    # ----------------------------------------------------------------- response URLs

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        response_id = request.match_info["response_id"]
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        with self._lock:
            if isinstance(body, dict):
                status, answer = self._respond(response_id, body)
            else:
                status, answer = 400, "invalid_payload"
            self._calls.append(
                {
                    "method": "response_url",
                    "params": body,
                    "time": time.time(),
                    "status": status,
                    "error": None if status == 200 else answer,
                }
            )
        return web.Response(status=status, text=answer)

    def _respond(self, response_id: str, body: dict) -> tuple[int, str]:
        """Apply a response_url post like Slack: ephemeral unless told otherwise."""
        target = self._response_urls.get(response_id)
        if target is None:
            return 404, "no_service"
        if target["uses"] >= RESPONSE_URL_MAX_USES:
            return 404, "used_url"
        channel_id, message_ts = target["channel"], target["message_ts"]
        original = self._messages.get(channel_id, {}).get(message_ts) if message_ts else None
        if body.get("delete_original"):
            if original is not None:
                del self._messages[channel_id][message_ts]
        else:
            try:
                text, blocks, attachments = self._message_content(body)
            except SlackApiFailure as failure:
                return 400, failure.error
            if body.get("replace_original") and original is not None:
                original["versions"].append({"text": original["text"], "blocks": copy.deepcopy(original["blocks"])})
                original.update(text=text, blocks=blocks, attachments=attachments)
                original["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
            elif body.get("response_type") == "in_channel" and channel_id in self._channels:
                self._store_message(
                    channel_id,
                    user=self.bot_user_id,
                    text=text,
                    blocks=blocks,
                    attachments=attachments,
                    thread_ts=body.get("thread_ts"),
                )
            else:
                self._ephemerals.append(
                    {
                        "channel": channel_id,
                        "user": target["user"],
                        "text": text,
                        "blocks": blocks,
                        "attachments": attachments,
                        "thread_ts": body.get("thread_ts"),
                        "message_ts": self._next_ts(),
                        "source": "response_url",
                    }
                )
        target["uses"] += 1
        self._responses.append({"response_url": target["url"], "body": body})
        return 200, "ok"
