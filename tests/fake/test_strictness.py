"""The fake refuses what real Slack refuses a bot: wrong channels, messages, scopes, tokens, pages, URLs.

If it accepted more than Slack, the bot's tests would pass on calls production answers with an error.
"""

import base64

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.fake import FakeSlack
from bot.slack.scopes import BOT_SCOPES

CHANNEL = "C0RELEASE"
PRIVATE = "G0PRIVATE"
UNINVITED = "C0UNINVITED"
SECRET = "G0SECRET"
ARCHIVED = "C0ARCHIVED"


class Clock:
    """The workspace's clock, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def clock():
    return Clock()


@pytest.fixture(scope="module")
def server(clock):
    with FakeSlack(clock=clock) as fake:
        fake.add_user("U0DANA", name="dana", email="dana@example.com")
        fake.add_user("U0ERIN", name="erin", email="erin@example.com")
        fake.add_channel(CHANNEL, members=("U0DANA",))
        fake.add_channel(PRIVATE, members=("U0DANA",))
        fake.add_channel(UNINVITED, members=("U0DANA",), bot_member=False)
        fake.add_channel(SECRET, members=("U0DANA",), bot_member=False)
        fake.add_channel(ARCHIVED, members=("U0DANA",))
        fake.archive_channel(ARCHIVED)
        yield fake


# `fake` and `client` come from tests/fake/conftest.py, on this module's own `server`


def error(call) -> dict:
    """The answer of a call that must fail with SlackApiError."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response.data


# ---------------------------------------------------------------- membership and archives


@pytest.mark.parametrize(
    ("channel", "expected"),
    [(UNINVITED, "not_in_channel"), (SECRET, "channel_not_found"), ("C0NOPE", "channel_not_found")],
)
def test_the_bot_reads_and_writes_only_where_it_is_a_member(client, fake, channel, expected):
    """A private channel the bot was not invited to does not exist for it, as in Slack."""
    human_ts = fake.post_user_message(channel, "U0DANA", "hi") if channel != "C0NOPE" else "1.000001"
    calls = [
        lambda: client.chat_postMessage(channel=channel, text="x"),
        lambda: client.chat_update(channel=channel, ts=human_ts, text="x"),
        lambda: client.conversations_history(channel=channel),
        lambda: client.conversations_replies(channel=channel, ts=human_ts),
    ]
    assert [error(call)["error"] for call in calls] == [expected] * 4


def test_dms_are_always_open_to_the_bot(client, fake):
    dm = client.conversations_open(users="U0ERIN")["channel"]["id"]
    assert client.chat_postMessage(channel=dm, text="by DM id")["ok"]
    assert client.chat_postMessage(channel="U0ERIN", text="by user id")["ok"]
    assert [m["text"] for m in client.conversations_history(channel=dm)["messages"]] == ["by user id", "by DM id"]


def test_an_archived_channel_can_be_read_but_not_written(client, fake):
    human_ts = fake.post_user_message(ARCHIVED, "U0DANA", "before the archive")
    assert error(lambda: client.chat_postMessage(channel=ARCHIVED, text="x"))["error"] == "is_archived"
    assert error(lambda: client.chat_update(channel=ARCHIVED, ts=human_ts, text="x"))["error"] == "is_archived"
    assert [m["ts"] for m in client.conversations_history(channel=ARCHIVED)["messages"]] == [human_ts]
    assert fake.channel(ARCHIVED)["is_archived"] and not fake.channel(CHANNEL)["is_archived"]


# ---------------------------------------------------------------- messages and threads


def test_unknown_messages_and_threads_are_named_as_slack_names_them(client, fake):
    ts = client.chat_postMessage(channel=CHANNEL, text="root")["ts"]
    assert error(lambda: client.chat_update(channel=CHANNEL, ts="1.000001", text="x"))["error"] == "message_not_found"
    assert error(lambda: client.chat_getPermalink(channel=CHANNEL, message_ts="1.000001"))["error"] == (
        "message_not_found"
    )
    assert error(lambda: client.conversations_replies(channel=CHANNEL, ts="1.000001"))["error"] == "thread_not_found"
    assert error(lambda: client.chat_postMessage(channel=PRIVATE, text="x", thread_ts=ts))["error"] == (
        "thread_not_found"
    ), "a thread_ts from another channel names no message here"


def test_the_bot_cannot_edit_what_a_person_wrote(client, fake):
    human_ts = fake.post_user_message(CHANNEL, "U0DANA", "mine")
    assert error(lambda: client.chat_update(channel=CHANNEL, ts=human_ts, text="x"))["error"] == "cant_update_message"


def test_replies_to_a_reply_ts_give_the_whole_thread(client, fake):
    root = client.chat_postMessage(channel=CHANNEL, text="root")["ts"]
    reply = client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=root)["ts"]
    thread = client.conversations_replies(channel=CHANNEL, ts=reply)["messages"]
    assert [m["ts"] for m in thread] == [root, reply]


# ---------------------------------------------------------------- scopes


@pytest.mark.parametrize(
    ("revoked", "call"),
    [
        ("chat:write", lambda c: c.chat_postMessage(channel=CHANNEL, text="x")),
        ("im:write", lambda c: c.conversations_open(users="U0DANA")),
        ("users:read", lambda c: c.users_info(user="U0DANA")),
        ("users:read.email", lambda c: c.users_lookupByEmail(email="dana@example.com")),
        ("channels:history", lambda c: c.conversations_history(channel=CHANNEL)),
        ("groups:history", lambda c: c.conversations_history(channel=PRIVATE)),
        ("im:history", lambda c: c.conversations_history(channel="D0DANA")),
        ("channels:read", lambda c: c.conversations_members(channel=CHANNEL)),
        ("groups:read", lambda c: c.conversations_members(channel=PRIVATE)),
    ],
)
def test_a_method_without_its_scope_is_missing_scope_with_needed_and_provided(client, fake, revoked, call):
    client.conversations_open(users="U0DANA")
    call(client)  # granted: it works
    fake.revoke_scope(revoked)
    answer = error(lambda: call(client))
    assert answer["error"] == "missing_scope"
    assert answer["needed"] == revoked
    assert answer["provided"] == ",".join(sorted(BOT_SCOPES - {revoked}))


def test_the_scope_for_one_kind_of_conversation_leaves_the_others_working(client, fake):
    fake.revoke_scope("channels:history")
    assert client.conversations_history(channel=PRIVATE)["ok"]
    fake.grant_scope("channels:history")
    assert client.conversations_history(channel=CHANNEL)["ok"]


def test_emails_are_shown_only_with_users_read_email(client, fake):
    assert client.users_info(user="U0DANA")["user"]["profile"]["email"] == "dana@example.com"
    fake.revoke_scope("users:read.email")
    assert "email" not in client.users_info(user="U0DANA")["user"]["profile"]


def test_reset_restores_the_installed_scopes_and_token(client, fake):
    fake.revoke_scope("chat:write")
    fake.revoke_token()
    fake.reset()
    assert client.chat_postMessage(channel=CHANNEL, text="x")["ok"]


# ---------------------------------------------------------------- tokens and users


def test_a_wrong_token_is_invalid_auth_and_a_revoked_one_token_revoked(fake):
    assert error(lambda: WebClient(base_url=fake.api_url, token="xoxb-wrong").auth_test())["error"] == "invalid_auth"
    fake.revoke_token()
    client = WebClient(base_url=fake.api_url, token=fake.bot_token)
    calls = (
        client.auth_test,
        lambda: client.chat_postMessage(channel=CHANNEL, text="x"),
        lambda: client.users_info(user="U0DANA"),
    )
    assert [error(call)["error"] for call in calls] == ["token_revoked"] * 3


def test_lookup_by_email_finds_no_deactivated_user(client, fake):
    fake.add_user("U0LEFT", name="left", email="left@example.com")
    assert client.users_lookupByEmail(email="left@example.com")["user"]["id"] == "U0LEFT"
    fake.deactivate_user("U0LEFT")
    assert error(lambda: client.users_lookupByEmail(email="left@example.com"))["error"] == "users_not_found"
    assert error(lambda: client.users_lookupByEmail(email="nobody@example.com"))["error"] == "users_not_found"
    assert client.users_info(user="U0LEFT")["user"]["deleted"] is True


# ---------------------------------------------------------------- pages


def post_many(fake: FakeSlack, count: int, thread_ts: str | None = None) -> list[str]:
    return [fake.post_user_message(CHANNEL, "U0DANA", str(n), thread_ts=thread_ts) for n in range(count)]


def test_history_pages_by_100_unless_told_and_callers_must_follow_the_cursor(client, fake, clock):
    fake.add_channel("C0BUSY", members=("U0DANA",))
    stamps = [fake.post_user_message("C0BUSY", "U0DANA", str(n)) for n in range(250)]
    first = client.conversations_history(channel="C0BUSY")
    assert len(first["messages"]) == 100 and first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    assert base64.b64decode(cursor).decode().startswith("next_ts:"), "opaque base64, as Slack's"
    seen = [m["ts"] for m in first["messages"]]
    while cursor:
        page = client.conversations_history(channel="C0BUSY", cursor=cursor, limit=70)
        seen += [m["ts"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
    assert seen == stamps[::-1]
    assert len(client.conversations_history(channel="C0BUSY", limit=5000)["messages"]) == 250, "capped at 999"
    assert error(lambda: client.conversations_history(channel="C0BUSY", cursor="bm9wZQ=="))["error"] == (
        "invalid_cursor"
    )


def test_history_honours_oldest_latest_and_inclusive(client, fake):
    fake.add_channel("C0RANGE", members=("U0DANA",))
    a, b, c = (fake.post_user_message("C0RANGE", "U0DANA", text) for text in "abc")

    def texts(**window) -> list[str]:
        return [m["text"] for m in client.conversations_history(channel="C0RANGE", **window)["messages"]]

    assert texts(oldest=a) == ["c", "b"]
    assert texts(latest=c) == ["b", "a"]
    assert texts(oldest=a, latest=c, inclusive=True) == ["c", "b", "a"]
    assert texts(oldest=a, latest=c) == ["b"]


def test_replies_page_through_a_long_thread(client, fake):
    root = fake.post_user_message(CHANNEL, "U0DANA", "root")
    replies = post_many(fake, 120, thread_ts=root)
    first = client.conversations_replies(channel=CHANNEL, ts=root)
    assert len(first["messages"]) == 100 and first["has_more"]
    rest = client.conversations_replies(channel=CHANNEL, ts=root, cursor=first["response_metadata"]["next_cursor"])
    assert not rest["has_more"] and rest["response_metadata"]["next_cursor"] == ""
    assert [m["ts"] for m in first["messages"] + rest["messages"]] == [root, *replies]


# ---------------------------------------------------------------- the clock: response URLs, triggers, ts


def test_a_response_url_expires_after_30_minutes(fake, clock):
    url = fake.new_response_url(channel_id=CHANNEL, user_id="U0DANA")
    assert httpx.post(url, json={"text": "early"}).status_code == 200
    clock.now += 30 * 60
    assert httpx.post(url, json={"text": "just in time"}).status_code == 200
    clock.now += 1
    late = httpx.post(url, json={"text": "too late"})
    assert (late.status_code, late.text) == (404, "expired_url")
    assert [body["text"] for body in fake.responses(url)] == ["early", "just in time"]


def test_a_response_url_takes_five_posts(fake):
    url = fake.new_response_url(channel_id=CHANNEL, user_id="U0DANA")
    answers = [httpx.post(url, json={"text": str(n)}) for n in range(6)]
    assert [(a.status_code, a.text) for a in answers] == [(200, "ok")] * 5 + [(404, "used_url")]


def test_a_trigger_expires_after_3_seconds_of_workspace_time(client, fake, clock):
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Sign off"}, "blocks": []}
    fresh, stale = fake.new_trigger_id("U0DANA"), fake.new_trigger_id("U0DANA")
    clock.now += 3
    assert client.views_open(trigger_id=fresh, view=view)["ok"]
    clock.now += 0.001
    assert error(lambda: client.views_open(trigger_id=stale, view=view))["error"] == "expired_trigger_id"


def test_message_ts_come_from_the_workspace_clock(client, fake, clock):
    clock.now = 1_800_000_000.0
    first = client.chat_postMessage(channel=CHANNEL, text="a")["ts"]
    second = client.chat_postMessage(channel=CHANNEL, text="b")["ts"]
    assert first == "1800000000.000000" and second == "1800000000.000001", "unique even on a frozen clock"
