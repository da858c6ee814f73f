"""Conversations the bot opens and reads: stable DMs and paginated members."""

import pytest

from tests.fake.common import slack_error


def test_conversations_open_gives_a_stable_dm_used_by_user_id_posts(client, fake):
    assert fake.dm_channel("U0DANA") is None
    opened = client.conversations_open(users="U0DANA")["channel"]["id"]
    assert opened.startswith("D")
    again = client.conversations_open(users=["U0DANA"])
    assert again["channel"]["id"] == opened and again["already_open"] is True
    assert client.chat_postMessage(channel="U0DANA", text="by user id")["channel"] == opened
    client.chat_postMessage(channel=opened, text="by dm id")
    assert [m["text"] for m in fake.dms("U0DANA")] == ["by user id", "by dm id"]
    assert fake.dm_channel("U0DANA") == opened


@pytest.mark.parametrize(("user", "expected"), [("U0NOBODY", "user_not_found"), ("U0GONE", "user_disabled")])
def test_conversations_open_rejects_bad_users(client, user, expected):
    assert slack_error(lambda: client.conversations_open(users=user))["error"] == expected


def test_conversations_members_paginates_with_cursors(client, fake):
    members = [f"U0M{n}" for n in range(5)]
    fake.add_channel("C0BIG", members=tuple(members))
    pages = [page["members"] for page in client.conversations_members(channel="C0BIG", limit=2)]
    assert pages == [["UBOT", "U0M0"], ["U0M1", "U0M2"], ["U0M3", "U0M4"]]
    assert fake.calls("conversations.members")[-1]["params"]["cursor"]
    assert slack_error(lambda: client.conversations_members(channel="C0BIG", cursor="bogus"))["error"] == (
        "invalid_cursor"
    )
    assert slack_error(lambda: client.conversations_members(channel="C0NOPE"))["error"] == "channel_not_found"
