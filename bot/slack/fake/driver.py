"""Plays Slack's side of the HTTP Events API against the bot under test.

Each method builds the payload Slack would send for a user's action, signs it the way Slack
does, and POSTs it to the bot's ``/slack/events`` endpoint over real HTTP. Trigger ids and
response URLs come from the FakeSlack instance so the bot's follow-up calls are checked there.
"""

import hashlib
import hmac
import json
import time
import uuid
from typing import Any, Optional, Union
from urllib.parse import urlencode

import httpx

from .server import FakeSlack, slack_message

# The deprecated verification token Slack still includes in every payload.
VERIFICATION_TOKEN = "fake-verification-token"


def _find_element(blocks: Optional[list], action_id: str) -> tuple[Optional[str], Optional[dict]]:
    """Locate an interactive element by action_id; returns (block_id, element)."""
    for block in blocks or []:
        candidates = list(block.get("elements") or []) if block.get("type") == "actions" else []
        candidates += [block[key] for key in ("accessory", "element") if isinstance(block.get(key), dict)]
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None


class SlackDriver:
    """Sends signed slash commands, interactions and events to the bot like Slack does."""

    def __init__(self, events_url: str, signing_secret: str, fake: FakeSlack, timeout: float = 10.0) -> None:
        self.events_url = events_url
        self.signing_secret = signing_secret
        self.fake = fake
        self._client = httpx.Client(timeout=timeout)
        self._last: Optional[tuple[bytes, dict]] = None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "SlackDriver":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # ----------------------------------------------------------------- signing and transport

    def sign(self, body: Union[bytes, str], timestamp: Union[int, str]) -> str:
        """Slack's v0 signature: HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret."""
        raw = body.encode() if isinstance(body, str) else body
        base = b"v0:" + str(timestamp).encode() + b":" + raw
        return "v0=" + hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()

    def post_raw(
        self,
        body: Union[bytes, str],
        content_type: str,
        timestamp: Optional[int] = None,
        signature: Optional[str] = None,
        headers: Optional[dict] = None,
    ) -> httpx.Response:
        """POST exactly ``body``; signs it for ``timestamp`` unless a (possibly forged) signature is given.

        A header mapped to None in ``headers`` is left out, to simulate missing Slack headers.
        """
        raw = body.encode() if isinstance(body, str) else body
        timestamp = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature if signature is not None else self.sign(raw, timestamp),
            **(headers or {}),
        }
        sent = {name: value for name, value in all_headers.items() if value is not None}
        self._last = (raw, sent)
        return self._client.post(self.events_url, content=raw, headers=sent)

    def resend(self, events_url: Optional[str] = None) -> httpx.Response:
        """POST the previous request again byte for byte, timestamp and signature included, as
        Slack's retries and anyone replaying a captured request within five minutes would;
        ``events_url`` sends it to another replica."""
        if self._last is None:
            raise ValueError("nothing sent yet")
        raw, headers = self._last
        return self._client.post(events_url or self.events_url, content=raw, headers=headers)

    def _post_form(self, fields: dict) -> httpx.Response:
        return self.post_raw(urlencode(fields).encode(), "application/x-www-form-urlencoded")

    def _post_interaction(self, payload: dict) -> httpx.Response:
        return self._post_form({"payload": json.dumps(payload)})

    # ----------------------------------------------------------------- directory lookups

    def _user_name(self, user_id: str) -> str:
        user = self.fake.user(user_id)
        return user["name"] if user else user_id.lower()

    def _channel_name(self, channel_id: str) -> str:
        channel = self.fake.channel(channel_id)
        if channel is not None and not channel["is_im"]:
            return channel["name"]
        return "directmessage" if channel_id.startswith("D") else channel_id.lower()

    def _user_ref(self, user_id: str) -> dict:
        name = self._user_name(user_id)
        return {"id": user_id, "username": name, "name": name, "team_id": self.fake.team_id}

    def _team_ref(self) -> dict:
        return {"id": self.fake.team_id, "domain": self.fake.team_domain}

    # ----------------------------------------------------------------- requests Slack sends

    def command(
        self,
        command: str,
        text: str = "",
        user_id: str = "U0DANA",
        channel_id: str = "C0CHECKOUT",
        user_name: Optional[str] = None,
        team_id: Optional[str] = None,
        trigger_id: Optional[str] = None,
        response_url: Optional[str] = None,
    ) -> httpx.Response:
        """A slash command; trigger_id and response_url are fresh ones from the fake by default."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id or self.fake.team_id,
            "team_domain": self.fake.team_domain,
            "channel_id": channel_id,
            "channel_name": self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name or self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.fake.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self.fake.new_response_url(channel_id=channel_id, user_id=user_id),
            "trigger_id": trigger_id or self.fake.new_trigger_id(user_id),
        }
        return self._post_form(fields)

    def block_action(
        self,
        user_id: str,
        action_id: str,
        value: Optional[str] = None,
        block_id: Optional[str] = None,
        channel_id: str = "C0CHECKOUT",
        message_ts: Optional[str] = None,
        message: Optional[dict] = None,
        selected_user: Optional[str] = None,
        trigger_id: Optional[str] = None,
        response_url: Optional[str] = None,
    ) -> httpx.Response:
        """A click on a message's button or select.

        Without ``message``/``message_ts`` it uses the newest message in the channel (threads included)
        that contains ``action_id``, else an ephemeral one that does, else an ephemeral container.
        ``value`` and ``block_id`` default to the element's own; ``block_id`` falls back to "b".
        """
        if message is None and message_ts is not None:
            message = self.fake.message(channel_id, message_ts)
            if message is None:
                raise ValueError(f"no message {message_ts} in {channel_id}")
        if message is None:
            message = self._newest_message_with(channel_id, action_id)
        blocks = message.get("blocks") if message else None
        is_ephemeral = message is None
        if is_ephemeral:
            ephemeral = self._newest_ephemeral_with(channel_id, user_id, action_id)
            blocks = ephemeral["blocks"] if ephemeral else None
            message_ts = ephemeral["message_ts"] if ephemeral else f"{time.time():.6f}"
        else:
            message_ts = message["ts"]
        found_block_id, element = _find_element(blocks, action_id)
        action = self._action(action_id, block_id or found_block_id or "b", element, value, selected_user)
        container = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        if message and message.get("thread_ts") not in (None, message_ts):
            container["thread_ts"] = message["thread_ts"]
        payload = {
            "type": "block_actions",
            "user": self._user_ref(user_id),
            "api_app_id": self.fake.app_id,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": trigger_id or self.fake.new_trigger_id(user_id),
            "team": self._team_ref(),
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "state": {"values": {}},
            "response_url": response_url
            or self.fake.new_response_url(
                channel_id=channel_id, user_id=user_id, message_ts=None if is_ephemeral else message_ts
            ),
            "actions": [action],
        }
        if message is not None:
            payload["message"] = slack_message(message)
        return self._post_interaction(payload)

    def _newest_message_with(self, channel_id: str, action_id: str) -> Optional[dict]:
        candidates = []
        for top in self.fake.messages(channel_id):
            candidates.append(top)
            candidates.extend(self.fake.thread(channel_id, top["ts"]))
        candidates.sort(key=lambda message: message["ts"], reverse=True)
        return next((m for m in candidates if _find_element(m["blocks"], action_id)[1] is not None), None)

    def _newest_ephemeral_with(self, channel_id: str, user_id: str, action_id: str) -> Optional[dict]:
        shown = self.fake.ephemerals(channel=channel_id, user=user_id)
        return next((e for e in reversed(shown) if _find_element(e["blocks"], action_id)[1] is not None), None)

    @staticmethod
    def _action(
        action_id: str, block_id: str, element: Optional[dict], value: Optional[str], selected_user: Optional[str]
    ) -> dict:
        kind = element["type"] if element else ("users_select" if selected_user else "button")
        action: dict = {"type": kind, "action_id": action_id, "block_id": block_id, "action_ts": f"{time.time():.6f}"}
        if kind == "users_select":
            action["selected_user"] = selected_user
            return action
        value = value if value is not None else (element or {}).get("value")
        if kind == "static_select":
            options = (element or {}).get("options", [])
            chosen = next((option for option in options if option.get("value") == value), None)
            action["selected_option"] = chosen or {"text": {"type": "plain_text", "text": value}, "value": value}
            return action
        if element and "text" in element:
            action["text"] = element["text"]
        if value is not None:
            action["value"] = value
        if element and "style" in element:
            action["style"] = element["style"]
        return action

    def view_action(self, user_id: str, action_id: str, view_id: Optional[str] = None) -> httpx.Response:
        """A click on a button in a modal the bot opened (by ``view_id``, else the user's newest
        with ``action_id``); like Slack, the payload carries the view and no response URL."""
        opened = [
            view
            for view in self.fake.views(user=None if view_id else user_id)
            if (view["view_id"] == view_id if view_id else _find_element(view["blocks"], action_id)[1] is not None)
        ]
        if not opened:
            raise ValueError(f"no modal with {action_id} for {user_id}")
        return self._click_in_view(user_id, opened[-1], action_id, None)

    def home_action(
        self, user_id: str, action_id: str, selected_user: Optional[str] = None, home: Optional[dict] = None
    ) -> httpx.Response:
        """A click on a button or menu in the Home tab last published for the user (or in ``home``,
        one published earlier and still on their screen); like Slack, the payload carries the Home
        view, no channel and no response URL."""
        home = home or self.fake.home(user_id)
        if home is None or _find_element(home["blocks"], action_id)[1] is None:
            raise ValueError(f"no {action_id} in the Home of {user_id}")
        return self._click_in_view(user_id, home, action_id, selected_user)

    def _click_in_view(self, user_id: str, shown: dict, action_id: str, selected_user: Optional[str]) -> httpx.Response:
        """A block_actions payload from a modal or Home: it carries the view, no channel, no response URL."""
        view = {key: value for key, value in shown.items() if key not in ("view_id", "user")}
        block_id, element = _find_element(view["blocks"], action_id)
        payload = {
            "type": "block_actions",
            "user": self._user_ref(user_id),
            "api_app_id": self.fake.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": self.fake.new_trigger_id(user_id),
            "team": self._team_ref(),
            "enterprise": None,
            "is_enterprise_install": False,
            "view": view,
            "actions": [self._action(action_id, block_id or "b", element, None, selected_user)],
        }
        return self._post_interaction(payload)

    def view_submission(
        self,
        user_id: str,
        callback_id: str,
        values: dict,
        private_metadata: Optional[str] = None,
        view_id: Optional[str] = None,
    ) -> httpx.Response:
        """Submit a modal with ``values`` shaped {block_id: {action_id: value-dict}}.

        A plain string value is shorthand for a plain_text_input's ``{"type": ..., "value": ...}``.
        The modal is the one the bot opened (by ``view_id``, else the user's newest with
        ``callback_id``), so its blocks and private_metadata are echoed back as Slack does.
        """
        opened = [
            view
            for view in self.fake.views(user=None if view_id else user_id)
            if (view["view_id"] == view_id if view_id else view["callback_id"] == callback_id)
        ]
        view = self._submitted_view(opened[-1] if opened else None, callback_id, view_id)
        if private_metadata is not None:
            view["private_metadata"] = private_metadata
        view["state"] = {
            "values": {
                block: {
                    action: {"type": "plain_text_input", "value": entry} if isinstance(entry, str) else entry
                    for action, entry in actions.items()
                }
                for block, actions in values.items()
            }
        }
        payload = {
            "type": "view_submission",
            "team": self._team_ref(),
            "user": self._user_ref(user_id),
            "api_app_id": self.fake.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.fake.new_trigger_id(user_id),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._post_interaction(payload)

    def _submitted_view(self, opened: Optional[dict], callback_id: str, view_id: Optional[str]) -> dict:
        if opened is not None:
            return {key: value for key, value in opened.items() if key not in ("view_id", "user")}
        view_id = view_id or f"V{uuid.uuid4().hex[:10].upper()}"
        return {
            "id": view_id,
            "team_id": self.fake.team_id,
            "type": "modal",
            "title": {"type": "plain_text", "text": "Modal"},
            "blocks": [],
            "private_metadata": "",
            "callback_id": callback_id,
            "external_id": "",
            "hash": f"{time.time():.6f}.{uuid.uuid4().hex[:8]}",
            "clear_on_close": False,
            "notify_on_close": False,
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": self.fake.app_id,
            "app_installed_team_id": self.fake.team_id,
            "bot_id": self.fake.bot_id,
        }

    def event(
        self,
        event: dict,
        event_id: Optional[str] = None,
        retry_num: Optional[int] = None,
        retry_reason: str = "http_timeout",
    ) -> httpx.Response:
        """An Events API ``event_callback``; with ``retry_num`` it is a redelivery (reuse event_id)."""
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.fake.team_id,
            "api_app_id": self.fake.app_id,
            "event": {"event_ts": f"{time.time():.6f}", **event},
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.fake.team_id,
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{uuid.uuid4().hex}",
        }
        headers = None
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return self.post_raw(json.dumps(envelope).encode(), "application/json", headers=headers)

    def url_verification(self, challenge: str) -> httpx.Response:
        body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
        return self.post_raw(json.dumps(body).encode(), "application/json")
