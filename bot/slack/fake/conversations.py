"""Conversations: channels, the bot's DMs, and the conversations.* methods that read them."""

import base64
import binascii
import copy
from typing import Any, Optional

from .errors import SlackApiFailure
from .messages import slack_message

MEMBERS_MAX_LIMIT = 1000
# Slack's page sizes: 100 unless told, at most 999 messages of history and 1000 thread messages.
DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 999
REPLIES_MAX_LIMIT = 1000


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
                "is_archived": False,
                "user": None,
            }

    def archive_channel(self, channel_id: str) -> None:
        """Archive a channel: it can still be read, but nothing can be posted or edited in it."""
        with self._lock:
            self._channels[channel_id]["is_archived"] = True

    def _conversations_info(self, params: dict) -> dict:
        """What `releasebot doctor` asks of each channel; as in Slack, a private channel the bot is not
        in is `channel_not_found`."""
        channel = self._channels.get(params.get("channel"))
        if channel is None or (channel["is_private"] and self.bot_user_id not in channel["members"]):
            raise SlackApiFailure("channel_not_found")
        return {
            "channel": {
                "id": channel["id"],
                "name": channel["name"],
                "is_channel": not channel["is_im"] and not channel["is_private"],
                "is_group": not channel["is_im"] and channel["is_private"],
                "is_im": channel["is_im"],
                "is_private": channel["is_private"],
                "is_archived": channel["is_archived"],
                "is_member": self.bot_user_id in channel["members"],
            }
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
                "is_archived": False,
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

    def _bot_channel(self, channel: Any, *, posting: bool = False, by_id: bool = False) -> dict:
        """The conversation as the bot may use it, refused the way Slack refuses a bot.

        A private channel the bot is not in does not exist for it; a public one is not_in_channel;
        nothing is posted or edited in an archived one. The bot is always in its DMs.
        """
        found = self._resolve_history_channel(channel) if by_id else self._resolve_channel(channel)
        is_member = self.bot_user_id in found["members"]
        if found["is_private"] and not is_member:
            raise SlackApiFailure("channel_not_found")
        if posting and found["is_archived"]:
            raise SlackApiFailure("is_archived")
        if not is_member:
            raise SlackApiFailure("not_in_channel")
        return found

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
        if channel["is_private"] and self.bot_user_id not in channel["members"]:
            raise SlackApiFailure("channel_not_found")
        try:
            limit = int(params.get("limit") or 100)
        except (TypeError, ValueError):
            raise SlackApiFailure("invalid_limit") from None
        if not 1 <= limit <= MEMBERS_MAX_LIMIT:
            raise SlackApiFailure("invalid_limit")
        members = channel["members"]
        start = 0
        if params.get("cursor"):
            start = self._cursor_position(params["cursor"], "user", members)
        page = members[start : start + limit]
        more = start + limit < len(members)
        next_cursor = self._cursor_for("user", members[start + limit]) if more else ""
        return {"members": page, "response_metadata": {"next_cursor": next_cursor}}

    def _conversations_history(self, params: dict) -> dict:
        """Top-level messages (and thread broadcasts) between `oldest` and `latest`, newest first, in pages."""
        channel = self._bot_channel(params.get("channel"), by_id=True)
        in_channel = [
            m for m in self._messages.get(channel["id"], {}).values()
            if m["thread_ts"] in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
        ]
        shown = sorted(self._in_time_range(in_channel, params), key=lambda m: float(m["ts"]), reverse=True)
        return self._message_page(shown, params, HISTORY_MAX_LIMIT)

    def _conversations_replies(self, params: dict) -> dict:
        """The thread holding message `ts` (parent first, then replies oldest first), in pages."""
        channel = self._bot_channel(params.get("channel"), by_id=True)
        message = self._messages.get(channel["id"], {}).get(params.get("ts"))
        if message is None:
            raise SlackApiFailure("thread_not_found")
        parent = self._messages[channel["id"]].get(message["thread_ts"] or message["ts"], message)
        replies = self._in_time_range(self._replies(channel["id"], parent["ts"]), params)
        replies.sort(key=lambda m: float(m["ts"]))
        return self._message_page([parent, *replies], params, REPLIES_MAX_LIMIT)

    @staticmethod
    def _in_time_range(messages: list[dict], params: dict) -> list[dict]:
        """Slack's oldest/latest window: exclusive unless `inclusive` is set."""
        try:
            oldest = float(params.get("oldest") or 0)
            latest = float(params.get("latest") or "inf")
        except (TypeError, ValueError):
            raise SlackApiFailure("invalid_ts_oldest" if "oldest" in params else "invalid_ts_latest") from None
        inclusive = str(params.get("inclusive")).lower() in ("true", "1")
        if inclusive:
            return [m for m in messages if oldest <= float(m["ts"]) <= latest]
        return [m for m in messages if oldest < float(m["ts"]) < latest]

    def _message_page(self, messages: list[dict], params: dict, maximum: int) -> dict:
        """One page of `limit` messages from the cursor on, with has_more and the next cursor."""
        try:
            limit = int(params.get("limit") or DEFAULT_LIMIT)
        except (TypeError, ValueError):
            raise SlackApiFailure("invalid_limit") from None
        if limit < 1:
            raise SlackApiFailure("invalid_limit")
        limit = min(limit, maximum)
        start = 0
        if params.get("cursor"):
            start = self._cursor_position(params["cursor"], "next_ts", [m["ts"].replace(".", "") for m in messages])
        page = messages[start : start + limit]
        more = start + limit < len(messages)
        next_cursor = self._cursor_for("next_ts", messages[start + limit]["ts"].replace(".", "")) if more else ""
        return {
            "messages": [self._history_message(m, params) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    @staticmethod
    def _history_message(message: dict, params: dict) -> dict:
        shaped = slack_message(message)
        if str(params.get("include_all_metadata")).lower() not in ("true", "1"):
            shaped.pop("metadata", None)
        return shaped

    @staticmethod
    def _cursor_for(kind: str, key: str) -> str:
        """Slack's cursors are opaque base64: 'user:<next member>', 'next_ts:<next message ts>'."""
        return base64.b64encode(f"{kind}:{key}".encode()).decode()

    @staticmethod
    def _cursor_position(cursor: str, kind: str, keys: list[str]) -> int:
        try:
            decoded = base64.b64decode(cursor, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise SlackApiFailure("invalid_cursor") from None
        prefix, _, key = decoded.partition(":")
        if prefix != kind or key not in keys:
            raise SlackApiFailure("invalid_cursor")
        return keys.index(key)
