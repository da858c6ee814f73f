"""Messages: the store of channel and DM messages, ephemerals, and the chat.* methods."""

import copy
from collections import Counter
from typing import Optional

from .errors import SlackApiFailure, invalid
from .validation import message_block_errors

MAX_TEXT_CHARS = 40_000


def slack_message(message: dict) -> dict:
    """A message record in the shape Slack uses in API responses and interaction payloads."""
    hidden = ("channel", "versions")
    shaped = {key: value for key, value in copy.deepcopy(message).items() if key not in hidden and value is not None}
    if not shaped.get("reply_count"):
        shaped.pop("reply_count", None)
    return shaped


class Messages:
    """FakeSlack's messages (state: `_messages` channel -> ts -> record, `_ephemerals`; reset() clears)."""

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

    def delete_message(self, channel: str, ts: str) -> None:
        """A person deletes a message (and with a parent, Slack drops its thread from view)."""
        with self._lock:
            removed = self._messages.get(channel, {}).pop(ts, None)
            if removed is None:
                raise ValueError(f"no message {ts} in {channel}")
            for reply in [m for m in self._messages[channel].values() if m["thread_ts"] == ts]:
                del self._messages[channel][reply["ts"]]

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

    # ----------------------------------------------------------------- helpers (lock held)

    def _next_ts(self) -> str:
        """Slack message timestamps from the workspace clock: unique, increasing, 'seconds.micros'."""
        micros = max(int(self.clock() * 1_000_000), self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _find_message(self, channel_id: str, ts: object) -> dict:
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
                raise invalid(problems.error, problems)
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

    def _edit_message(self, message: dict, text: str, blocks: Optional[list], attachments: Optional[list]) -> None:
        """Replace a message's content, keeping the old version (chat.update, replace_original)."""
        message["versions"].append({"text": message["text"], "blocks": copy.deepcopy(message["blocks"])})
        message.update(text=text, blocks=blocks, attachments=attachments)
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}

    def _public_message(self, message: dict, reply_count: Optional[int] = None) -> dict:
        """A copy with reply_count; pass the count when listing many messages to avoid rescans."""
        public = copy.deepcopy(message)
        if reply_count is None:
            is_parent = message["thread_ts"] == message["ts"]
            reply_count = len(self._replies(message["channel"], message["ts"])) if is_parent else 0
        public["reply_count"] = reply_count
        return public

    # ----------------------------------------------------------------- Web API methods

    def _chat_post_message(self, params: dict) -> dict:
        channel = self._bot_channel(params.get("channel"), posting=True)
        thread_ts = params.get("thread_ts") or None
        if thread_ts is not None and thread_ts not in self._messages.get(channel["id"], {}):
            raise SlackApiFailure("thread_not_found")
        text, blocks, attachments = self._message_content(params)
        message = self._store_message(
            channel["id"], user=self.bot_user_id, text=text, blocks=blocks, attachments=attachments, thread_ts=thread_ts
        )
        if message["thread_ts"] and str(params.get("reply_broadcast")).lower() in ("true", "1"):
            message["subtype"] = "thread_broadcast"  # shown in the channel as well as in the thread
        if isinstance(params.get("metadata"), dict):
            message["metadata"] = params["metadata"]
        return {"channel": channel["id"], "ts": message["ts"], "message": slack_message(message)}

    def _chat_update(self, params: dict) -> dict:
        channel = self._bot_channel(params.get("channel"), posting=True)
        message = self._find_message(channel["id"], params.get("ts"))
        if message["user"] != self.bot_user_id:
            raise SlackApiFailure("cant_update_message")
        text, blocks, attachments = self._message_content(params)
        # Slack keeps the previous blocks/attachments when the update omits them.
        self._edit_message(
            message,
            text,
            blocks if "blocks" in params else message["blocks"],
            attachments if "attachments" in params else message["attachments"],
        )
        return {"channel": channel["id"], "ts": message["ts"], "text": text, "message": slack_message(message)}

    def _chat_post_ephemeral(self, params: dict) -> dict:
        channel = self._bot_channel(params.get("channel"), posting=True)
        if params.get("user") not in channel["members"]:
            raise SlackApiFailure("user_not_in_channel")
        text, blocks, attachments = self._message_content(params)
        message_ts = self._add_ephemeral(
            channel["id"], params["user"], text, blocks, attachments, params.get("thread_ts"), "chat.postEphemeral"
        )
        return {"message_ts": message_ts}

    def _add_ephemeral(
        self,
        channel_id: Optional[str],
        user: Optional[str],
        text: str,
        blocks: Optional[list],
        attachments: Optional[list],
        thread_ts: Optional[str],
        source: str,
    ) -> str:
        message_ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": channel_id,
                "user": user,
                "text": text,
                "blocks": blocks,
                "attachments": attachments,
                "thread_ts": thread_ts,
                "message_ts": message_ts,
                "source": source,
            }
        )
        return message_ts

    def _chat_get_permalink(self, params: dict) -> dict:
        channel = self._resolve_channel(params.get("channel"))
        if channel["is_private"] and self.bot_user_id not in channel["members"]:
            raise SlackApiFailure("channel_not_found")
        message = self._find_message(channel["id"], params.get("message_ts"))
        permalink = f"https://{self.team_domain}.slack.com/archives/{channel['id']}/p{message['ts'].replace('.', '')}"
        if message["thread_ts"] not in (None, message["ts"]):
            permalink += f"?thread_ts={message['thread_ts']}&cid={channel['id']}"
        return {"channel": channel["id"], "permalink": permalink}
