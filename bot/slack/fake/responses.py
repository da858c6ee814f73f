"""Response URLs: the per-interaction URLs a bot posts replies to, with Slack's use limit."""

import copy
import json
import time
import uuid
from typing import Optional

from aiohttp import web

from .errors import SlackApiFailure

# Slack accepts at most 5 posts to one response_url, within 30 minutes of the interaction.
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_TTL_SECONDS = 30 * 60


class ResponseUrls:
    """FakeSlack's response URLs (state: `_response_urls`, `_responses`; reset() clears)."""

    def new_response_url(
        self, channel_id: Optional[str] = None, user_id: Optional[str] = None, message_ts: Optional[str] = None
    ) -> str:
        """Issue a response URL; with ``message_ts`` it can replace or delete that message.

        It takes 5 posts within 30 minutes of now on the workspace clock.
        """
        response_id = uuid.uuid4().hex
        url = f"{self.base_url}/response/{response_id}"
        with self._lock:
            self._response_urls[response_id] = {
                "url": url,
                "channel": channel_id,
                "user": user_id,
                "message_ts": message_ts,
                "uses": 0,
                "expires": self.clock() + RESPONSE_URL_TTL_SECONDS,
            }
        return url

    def responses(self, response_url: Optional[str] = None) -> list[dict]:
        """Bodies accepted by response URLs, in order."""
        with self._lock:
            return copy.deepcopy(
                [entry["body"] for entry in self._responses if response_url in (None, entry["response_url"])]
            )

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
        if self.clock() > target["expires"]:
            return 404, "expired_url"
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
                self._edit_message(original, text, blocks, attachments)
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
                self._add_ephemeral(
                    channel_id, target["user"], text, blocks, attachments, body.get("thread_ts"), "response_url"
                )
        target["uses"] += 1
        self._responses.append({"response_url": target["url"], "body": body})
        return 200, "ok"
