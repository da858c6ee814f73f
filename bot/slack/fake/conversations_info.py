"""conversations.info for the emulator: what `releasebot doctor` asks of each configured channel.

Kept apart from server.py, which registers it with one line. As in Slack, it takes conversation ids
only, and a private channel the bot is not in is `channel_not_found`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import FakeSlack


def conversations_info(fake: FakeSlack, params: dict) -> dict:
    """Called with the fake's lock held, like every method handler."""
    from .server import SlackApiFailure

    channel = fake._channels.get(params.get("channel"))
    if channel is None or (channel["is_private"] and fake.bot_user_id not in channel["members"]):
        raise SlackApiFailure("channel_not_found")
    return {
        "channel": {
            "id": channel["id"],
            "name": channel["name"],
            "is_channel": not channel["is_im"] and not channel["is_private"],
            "is_group": not channel["is_im"] and channel["is_private"],
            "is_im": channel["is_im"],
            "is_private": channel["is_private"],
            "is_archived": channel.get("is_archived", False),
            "is_member": fake.bot_user_id in channel["members"],
        }
    }


def archive_channel(fake: FakeSlack, channel_id: str) -> None:
    """Archive a channel the test added, as a workspace admin would."""
    with fake._lock:
        fake._channels[channel_id]["is_archived"] = True
