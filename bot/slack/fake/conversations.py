"""Conversations: channels, the bot's DMs, and the conversations.* methods that read them."""

import base64
import binascii
import copy
from typing import Any, Optional

from .errors import SlackApiFailure
from .messages import slack_message

MEMBERS_MAX_LIMIT = 1000


class Conversations:
    """FakeSlack's channels and DMs (state: `_channels`, kept by reset())."""

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

    def channel(self, channel_id: str) -> Optional[dict]:
        with self._lock:
            return copy.deepcopy(self._channels.get(channel_id))

    def dm_channel(self, user_id: str) -> Optional[str]:
        """The bot's DM channel id with that user, or None if none was opened yet."""
        with self._lock:
            dm_id = self._dm_id(user_id)
            return dm_id if dm_id in self._channels else None

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

    def _resolve_history_channel(self, channel: Any) -> dict:
        """History takes conversation ids only (C, G or D), unlike chat.postMessage."""
        if not isinstance(channel, str) or channel not in self._channels:
            raise SlackApiFailure("channel_not_found")
        return self._channels[channel]

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
