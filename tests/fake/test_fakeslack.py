"""The fake must answer the real slack_sdk clients the way Slack does, or the bot's tests lie."""

import asyncio
import json
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.slack_response import SlackResponse

from bot.slack.fake.server import FakeSlack

CHANNEL = "C0CHECKOUT"


def section(text: str, **extra) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str, text: str = "Go", **extra) -> dict:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, **extra}


def modal(title: str = "Sign off", blocks: list | None = None, **extra) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks or [], **extra}


@pytest.fixture(scope="module")
def server():
    with FakeSlack() as fake:
        fake.add_user("U0DANA", name="dana", real_name="Dana Scully", email="Dana@Example.com")
        fake.add_user("U0ERIN", name="erin", tz="Europe/Berlin")
        fake.add_user("U0GONE", name="gone", deleted=True)
        fake.add_user("U0OUT", name="outsider")
        fake.add_channel(CHANNEL, name="checkout", members=("U0DANA", "U0ERIN"))
        yield fake


@pytest.fixture
def fake(server):
    server.reset()
    return server


@pytest.fixture
def client(fake):
    return WebClient(base_url=fake.api_url, token=fake.bot_token)


def slack_error(call) -> SlackResponse:
    """The response of a call that must fail with SlackApiError."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response


# ---------------------------------------------------------------- auth


def test_auth_test_reports_the_bot_identity(client, fake):
    response = client.auth_test()
    assert response["user_id"] == "UBOT"
    assert response["team_id"] == "T0TEST"
    assert response["bot_id"] == fake.bot_id


@pytest.mark.parametrize(
    ("token", "expected"),
    [(None, "not_authed"), ("xoxb-wrong", "invalid_auth"), ("xapp-test", "not_allowed_token_type")],
)
def test_bad_tokens_are_rejected_with_http_200(fake, token, expected):
    error = slack_error(lambda: WebClient(base_url=fake.api_url, token=token).auth_test())
    assert error.status_code == 200
    assert error["error"] == expected
    assert fake.calls("auth.test")[0]["error"] == expected


def test_token_may_come_as_a_form_field(fake):
    response = httpx.post(fake.api_url + "auth.test", data={"token": fake.bot_token})
    assert response.json()["ok"] is True


def test_unknown_method_is_reported(client):
    assert slack_error(lambda: client.api_call("chat.nonsense"))["error"] == "unknown_method"


# ---------------------------------------------------------------- messages


def test_post_message_is_stored_and_echoed(client, fake):
    response = client.chat_postMessage(channel=CHANNEL, text="RC1 is ready", blocks=[section("*RC1*")])
    assert response["channel"] == CHANNEL
    assert response["message"]["text"] == "RC1 is ready"
    assert response["message"]["user"] == "UBOT"
    [stored] = fake.messages(CHANNEL)
    assert stored["ts"] == response["ts"]
    assert stored["blocks"] == [section("*RC1*")]
    assert stored["thread_ts"] is None


def test_channel_by_name_resolves_to_its_id(client):
    assert client.chat_postMessage(channel="#checkout", text="hi")["channel"] == CHANNEL


def test_form_encoded_blocks_are_parsed_from_json_strings(client, fake):
    client.api_call(
        "chat.postMessage", data={"channel": CHANNEL, "text": "t", "blocks": json.dumps([section("form")])}
    )
    assert fake.messages(CHANNEL)[0]["blocks"] == [section("form")]


def test_timestamps_are_unique_and_increasing(client):
    stamps = [client.chat_postMessage(channel=CHANNEL, text=str(n))["ts"] for n in range(5)]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 5


def test_thread_replies_group_under_the_root(client, fake):
    root = client.chat_postMessage(channel=CHANNEL, text="root")["ts"]
    first = client.chat_postMessage(channel=CHANNEL, text="first", thread_ts=root)["ts"]
    client.chat_postMessage(channel=CHANNEL, text="reply to reply", thread_ts=first)
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["root"]
    assert [m["text"] for m in fake.thread(CHANNEL, root)] == ["first", "reply to reply"]
    assert fake.message(CHANNEL, root)["reply_count"] == 2
    assert fake.thread(CHANNEL, root)[1]["thread_ts"] == root


def test_a_reply_to_no_message_in_the_channel_is_thread_not_found(client, fake):
    fake.add_channel("C0OTHER", members=("U0DANA",))
    elsewhere = fake.post_user_message("C0OTHER", "U0DANA", "in another channel")
    for thread_ts in ("1.000001", elsewhere):
        response = slack_error(lambda: client.chat_postMessage(channel=CHANNEL, text="orphan", thread_ts=thread_ts))
        assert response["error"] == "thread_not_found"
    assert fake.messages(CHANNEL) == [] and fake.thread(CHANNEL, "1.000001") == []


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": "U0NOBODY", "text": "x"}, "channel_not_found"),
        ({"channel": CHANNEL, "text": ""}, "no_text"),
        ({"channel": CHANNEL, "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": CHANNEL, "text": "x", "blocks": "not json"}, "invalid_blocks_format"),
    ],
)
def test_post_message_rejections(client, fake, kwargs, expected):
    assert slack_error(lambda: client.chat_postMessage(**kwargs))["error"] == expected
    assert fake.messages(CHANNEL) == []


def test_text_at_the_limit_is_accepted(client):
    assert client.chat_postMessage(channel=CHANNEL, text="x" * 40_000)["ok"]


def test_posting_where_the_bot_is_not_a_member_fails(client, fake):
    fake.add_channel("C0PRIVATE", members=("U0DANA",), bot_member=False)
    assert slack_error(lambda: client.chat_postMessage(channel="C0PRIVATE", text="x"))["error"] == "not_in_channel"


def test_update_keeps_every_version(client, fake):
    ts = client.chat_postMessage(channel=CHANNEL, text="v1", blocks=[section("one")])["ts"]
    client.chat_update(channel=CHANNEL, ts=ts, text="v2", blocks=[section("two")])
    response = client.chat_update(channel=CHANNEL, ts=ts, text="v3")
    assert response["message"]["blocks"] == [section("two")], "omitted blocks are kept, as in Slack"
    stored = fake.message(CHANNEL, ts)
    assert stored["text"] == "v3"
    assert stored["versions"] == [
        {"text": "v1", "blocks": [section("one")]},
        {"text": "v2", "blocks": [section("two")]},
    ]


def test_update_rejects_unknown_and_foreign_messages(client, fake):
    human_ts = fake.post_user_message(CHANNEL, "U0DANA", "mine")
    assert slack_error(lambda: client.chat_update(channel=CHANNEL, ts="1.1", text="x"))["error"] == "message_not_found"
    assert slack_error(lambda: client.chat_update(channel=CHANNEL, ts=human_ts, text="x"))["error"] == (
        "cant_update_message"
    )
    assert fake.message(CHANNEL, human_ts)["versions"] == []


# ---------------------------------------------------------------- Block Kit


def _many(count: int, make) -> list:
    return [make(index) for index in range(count)]


INVALID_BLOCKS = {
    "too many blocks": _many(51, lambda i: {"type": "divider"}),
    "section text too long": [section("x" * 3001)],
    "field too long": [{"type": "section", "fields": [{"type": "mrkdwn", "text": "x" * 2001}]}],
    "too many fields": [{"type": "section", "fields": _many(11, lambda i: {"type": "mrkdwn", "text": "f"})}],
    "header too long": [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
    "button text too long": [{"type": "actions", "elements": [button("a", text="x" * 76)]}],
    "button value too long": [{"type": "actions", "elements": [button("a", value="x" * 2001)]}],
    "action_id too long": [{"type": "actions", "elements": [button("a" * 256)]}],
    "duplicate action_id across blocks": [
        section("one", accessory=button("approve")),
        {"type": "actions", "elements": [button("approve")]},
    ],
    "duplicate block_id": [section("one", block_id="b1"), section("two", block_id="b1")],
    "too many actions": [{"type": "actions", "elements": _many(26, lambda i: button(f"a{i}"))}],
    "too many context elements": [
        {"type": "context", "elements": _many(11, lambda i: {"type": "mrkdwn", "text": "c"})},
    ],
    "unknown block type": [{"type": "carousel"}],
    "empty section text": [section("")],
}


@pytest.mark.parametrize("blocks", INVALID_BLOCKS.values(), ids=INVALID_BLOCKS.keys())
def test_invalid_blocks_are_rejected_everywhere(client, fake, blocks):
    error = slack_error(lambda: client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))
    assert error["error"] == "invalid_blocks"
    assert error["errors"] and "json-pointer:/blocks" in error["errors"][0]
    ts = client.chat_postMessage(channel=CHANNEL, text="ok")["ts"]
    assert slack_error(lambda: client.chat_update(channel=CHANNEL, ts=ts, text="t", blocks=blocks))["error"] == (
        "invalid_blocks"
    )
    assert slack_error(
        lambda: client.chat_postEphemeral(channel=CHANNEL, user="U0DANA", text="t", blocks=blocks)
    )["error"] == "invalid_blocks"
    assert fake.ephemerals() == []


def test_blocks_at_every_limit_are_accepted(client):
    blocks = [
        section("x" * 3000, block_id="s", accessory=button("acc", text="y" * 75, value="v" * 2000)),
        {"type": "section", "fields": _many(10, lambda i: {"type": "mrkdwn", "text": "f" * (2000 if i == 0 else 1)})},
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "actions", "elements": _many(25, lambda i: button(f"{i:0>255}"))},
        {"type": "context", "elements": _many(10, lambda i: {"type": "plain_text", "text": "c"})},
    ] + _many(45, lambda i: {"type": "divider"})
    assert len(blocks) == 50
    assert client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks)["ok"]


# ---------------------------------------------------------------- ephemerals, permalinks, DMs


def test_post_ephemeral_is_recorded_for_channel_members_only(client, fake):
    response = client.chat_postEphemeral(channel=CHANNEL, user="U0DANA", text="only you")
    [shown] = fake.ephemerals(channel=CHANNEL, user="U0DANA")
    assert shown["text"] == "only you"
    assert shown["message_ts"] == response["message_ts"]
    error = slack_error(lambda: client.chat_postEphemeral(channel=CHANNEL, user="U0OUT", text="x"))
    assert error["error"] == "user_not_in_channel"
    assert fake.messages(CHANNEL) == []


def test_get_permalink_points_at_the_message(client):
    root = client.chat_postMessage(channel=CHANNEL, text="root")["ts"]
    reply = client.chat_postMessage(channel=CHANNEL, text="reply", thread_ts=root)["ts"]
    link = client.chat_getPermalink(channel=CHANNEL, message_ts=root)["permalink"]
    assert link == f"https://fakeslack.slack.com/archives/{CHANNEL}/p{root.replace('.', '')}"
    assert f"thread_ts={root}" in client.chat_getPermalink(channel=CHANNEL, message_ts=reply)["permalink"]
    assert slack_error(lambda: client.chat_getPermalink(channel=CHANNEL, message_ts="2.2"))["error"] == (
        "message_not_found"
    )


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


# ---------------------------------------------------------------- users


def test_users_info_returns_a_realistic_user(client):
    user = client.users_info(user="U0ERIN")["user"]
    expected_offset = datetime.now(ZoneInfo("Europe/Berlin")).utcoffset().total_seconds()
    assert user["tz"] == "Europe/Berlin"
    assert user["tz_offset"] == expected_offset
    assert user["tz_label"].startswith("Central European")
    assert user["profile"]["display_name"] == "erin"
    assert user["is_bot"] is False
    assert client.users_info(user="UBOT")["user"]["is_bot"] is True
    assert client.users_info(user="U0GONE")["user"]["deleted"] is True
    assert slack_error(lambda: client.users_info(user="U0NOBODY"))["error"] == "user_not_found"


def test_users_info_is_sent_as_get(client, fake):
    client.users_info(user="U0DANA")
    assert fake.calls("users.info")[0]["params"] == {"user": "U0DANA"}


def test_lookup_by_email_ignores_case(client):
    assert client.users_lookupByEmail(email="dana@example.COM")["user"]["id"] == "U0DANA"
    assert slack_error(lambda: client.users_lookupByEmail(email="who@example.com"))["error"] == "users_not_found"


# ---------------------------------------------------------------- pagination


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


# ---------------------------------------------------------------- views


def test_views_open_needs_a_fresh_trigger_issued_by_the_fake(client, fake):
    assert slack_error(lambda: client.views_open(trigger_id="1.2.abc", view=modal()))["error"] == "invalid_trigger_id"
    trigger = fake.new_trigger_id("U0DANA")
    view = client.views_open(trigger_id=trigger, view=modal(callback_id="signoff", private_metadata="rc1"))["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert slack_error(lambda: client.views_open(trigger_id=trigger, view=modal()))["error"] == "exchanged_trigger_id"
    stale = fake.new_trigger_id("U0DANA", ttl=0)
    assert slack_error(lambda: client.views_open(trigger_id=stale, view=modal()))["error"] == "expired_trigger_id"
    [opened] = fake.views(user="U0DANA")
    assert (opened["view_id"], opened["callback_id"], opened["private_metadata"]) == (view["id"], "signoff", "rc1")


def test_views_push_stacks_on_the_open_modal(client, fake):
    root = client.views_open(trigger_id=fake.new_trigger_id("U0DANA"), view=modal())["view"]
    pushed = client.views_push(trigger_id=fake.new_trigger_id("U0DANA"), view=modal("Step 2"))["view"]
    assert pushed["root_view_id"] == root["id"]
    assert pushed["previous_view_id"] == root["id"]
    assert len(fake.views(user="U0DANA")) == 2


def test_views_update_by_id_or_external_id_with_hash_checks(client, fake):
    view = client.views_open(trigger_id=fake.new_trigger_id("U0DANA"), view=modal(external_id="rel-42"))["view"]
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=modal("Updated"))["view"]
    assert updated["title"]["text"] == "Updated" and updated["hash"] != view["hash"]
    stale_hash = slack_error(lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=modal()))
    assert stale_hash["error"] == "hash_conflict"
    client.views_update(external_id="rel-42", view=modal("Again"))
    assert fake.views()[0]["title"]["text"] == "Again"
    assert slack_error(lambda: client.views_update(view_id="V404", view=modal()))["error"] == "not_found"
    assert slack_error(lambda: client.views_update(external_id="nope", view=modal()))["error"] == "not_found"


def test_duplicate_external_id_is_rejected(client, fake):
    client.views_open(trigger_id=fake.new_trigger_id("U0DANA"), view=modal(external_id="x"))
    error = slack_error(lambda: client.views_open(trigger_id=fake.new_trigger_id(), view=modal(external_id="x")))
    assert error["error"] == "duplicate_external_id"


INVALID_VIEWS = {
    "title too long": modal("x" * 25),
    "too many blocks": modal(blocks=_many(101, lambda i: {"type": "divider"})),
    "duplicate action_id": modal(blocks=[section("a", accessory=button("go")), section("b", accessory=button("go"))]),
    "duplicate block_id": modal(blocks=[section("a", block_id="b"), section("b", block_id="b")]),
    "input without submit": modal(
        blocks=[
            {"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": {"type": "plain_text_input"}},
        ]
    ),
    "wrong type": {**modal(), "type": "home"},
}


@pytest.mark.parametrize("view", INVALID_VIEWS.values(), ids=INVALID_VIEWS.keys())
def test_invalid_views_are_rejected_with_invalid_arguments(client, fake, view):
    trigger = fake.new_trigger_id("U0DANA")
    error = slack_error(lambda: client.views_open(trigger_id=trigger, view=view))
    assert error["error"] == "invalid_arguments"
    assert error["response_metadata"]["messages"][0].startswith("[ERROR]")
    assert fake.views() == []
    assert client.views_open(trigger_id=trigger, view=modal())["ok"], "a rejected call must not burn the trigger"


def test_view_with_100_blocks_and_24_char_title_is_accepted(client, fake):
    view = modal("x" * 24, blocks=_many(100, lambda i: {"type": "divider"}))
    assert client.views_open(trigger_id=fake.new_trigger_id(), view=view)["ok"]


def test_views_publish_keeps_one_home_per_user(client, fake):
    home = {"type": "home", "blocks": [section("Releases")]}
    first = client.views_publish(user_id="U0DANA", view=home)["view"]
    second = client.views_publish(user_id="U0DANA", view={"type": "home", "blocks": [section("Now")]})["view"]
    assert second["id"] == first["id"]
    assert fake.home("U0DANA")["blocks"] == [section("Now")]
    assert fake.home("U0ERIN") is None
    assert fake.views() == [], "home tabs are not modals"
    assert slack_error(lambda: client.views_publish(user_id="U0DANA", view=modal()))["error"] == "invalid_arguments"


# ---------------------------------------------------------------- failure injection


def test_rate_limit_answers_429_with_retry_after(client, fake):
    fake.fail_next("chat.postMessage", retry_after=7)
    error = slack_error(lambda: client.chat_postMessage(channel=CHANNEL, text="x"))
    assert error.status_code == 429
    assert error.headers["Retry-After"] == "7"
    assert error["error"] == "ratelimited"
    assert client.chat_postMessage(channel=CHANNEL, text="x")["ok"]


def test_retry_handler_succeeds_after_a_429(fake):
    fake.fail_next("chat.postMessage", retry_after=0)
    client = WebClient(base_url=fake.api_url, token=fake.bot_token, retry_handlers=[RateLimitErrorRetryHandler()])
    assert client.chat_postMessage(channel=CHANNEL, text="eventually")["ok"]
    assert [call["status"] for call in fake.calls("chat.postMessage")] == [429, 200]
    assert len(fake.messages(CHANNEL)) == 1


def test_server_errors_and_api_errors_can_be_injected(client, fake):
    fake.fail_next("users.info", status=500)
    fake.fail_next("users.info", error="fatal_error")
    assert slack_error(lambda: client.users_info(user="U0DANA")).status_code == 500
    api_error = slack_error(lambda: client.users_info(user="U0DANA"))
    assert (api_error.status_code, api_error["error"]) == (200, "fatal_error")
    assert client.users_info(user="U0DANA")["ok"]
    assert [call["status"] for call in fake.calls("users.info")] == [500, 200, 200]


def test_rate_limiter_is_per_channel(client, fake):
    fake.rate_limit("chat.postMessage", per_second=1)
    client.chat_postMessage(channel=CHANNEL, text="first")
    limited = slack_error(lambda: client.chat_postMessage(channel=CHANNEL, text="second"))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
    assert client.chat_postMessage(channel="U0DANA", text="other channel")["ok"]


def test_failure_rate_is_seeded_and_reproducible(client, fake):
    def statuses() -> list[int]:
        fake.reset()
        fake.failure_rate("auth.test", 0.5, seed=3)
        for _ in range(20):
            try:
                client.auth_test()
            except SlackApiError:
                pass
        return [call["status"] for call in fake.calls("auth.test")]

    first = statuses()
    assert first == statuses()
    assert 0 < first.count(500) < 20


def test_reset_clears_activity_but_keeps_the_directory(client, fake):
    client.chat_postMessage(channel=CHANNEL, text="x")
    fake.fail_next("auth.test", count=3)
    fake.reset()
    assert fake.calls() == [] and fake.messages(CHANNEL) == []
    assert client.auth_test()["ok"]
    assert client.users_info(user="U0DANA")["ok"]


# ---------------------------------------------------------------- response URLs


def test_response_url_records_ephemeral_replies(fake):
    url = fake.new_response_url(channel_id=CHANNEL, user_id="U0DANA")
    answer = httpx.post(url, json={"text": "Working on it", "blocks": [section("…")]})
    assert (answer.status_code, answer.text) == (200, "ok")
    assert fake.responses(url) == [{"text": "Working on it", "blocks": [section("…")]}]
    assert fake.ephemerals(user="U0DANA")[0]["source"] == "response_url"
    assert fake.messages(CHANNEL) == []


def test_response_url_rejects_unknown_ids_bad_blocks_and_overuse(fake):
    assert httpx.post(fake.base_url + "/response/nope", json={"text": "x"}).status_code == 404
    url = fake.new_response_url(channel_id=CHANNEL)
    bad = httpx.post(url, json={"text": "x", "blocks": [section("x" * 3001)]})
    assert (bad.status_code, bad.text) == (400, "invalid_blocks")
    assert fake.responses(url) == []
    statuses = [httpx.post(url, json={"text": str(n)}).status_code for n in range(6)]
    assert statuses == [200] * 5 + [404]
    assert fake.calls("response_url")[0]["error"] == "no_service"


def test_response_url_in_channel_replace_and_delete(client, fake):
    url = fake.new_response_url(channel_id=CHANNEL, user_id="U0DANA")
    httpx.post(url, json={"response_type": "in_channel", "text": "for everyone"})
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["for everyone"]
    ts = client.chat_postMessage(channel=CHANNEL, text="Approve?")["ts"]
    message_url = fake.new_response_url(channel_id=CHANNEL, user_id="U0DANA", message_ts=ts)
    httpx.post(message_url, json={"replace_original": True, "text": "Approved"})
    assert fake.message(CHANNEL, ts)["text"] == "Approved"
    assert fake.message(CHANNEL, ts)["versions"] == [{"text": "Approve?", "blocks": None}]
    httpx.post(message_url, json={"delete_original": True})
    assert fake.message(CHANNEL, ts) is None


# ---------------------------------------------------------------- async client


def test_async_web_client_works_against_the_fake(fake):
    async def scenario() -> tuple[str, str]:
        client = AsyncWebClient(base_url=fake.api_url, token=fake.bot_token)
        posted = await client.chat_postMessage(channel=CHANNEL, text="async")
        user = await client.users_info(user="U0DANA")
        return posted["ts"], user["user"]["name"]

    ts, name = asyncio.run(scenario())
    assert fake.message(CHANNEL, ts)["text"] == "async"
    assert name == "dana"


# ---------------------------------------------------------------- Socket Mode


def test_socket_mode_hello_and_acknowledged_envelopes(fake):
    received: list[dict] = []

    async def scenario() -> dict:
        client = SocketModeClient(app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url))

        async def on_message(socket_client, message, raw):
            received.append(message)

        async def on_request(socket_client, request):
            ack = SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "ack:" + request.type})
            await socket_client.send_socket_mode_response(ack)

        client.message_listeners.append(on_message)
        client.socket_mode_request_listeners.append(on_request)
        await client.connect()
        try:
            return await asyncio.to_thread(fake.socket_send, "slash_commands", {"command": "/release"}, 3)
        finally:
            await client.close()

    ack = asyncio.run(scenario())
    assert ack["payload"] == {"text": "ack:slash_commands"}
    assert received[0]["type"] == "hello" and received[0]["num_connections"] == 1
    envelope = received[1]
    assert envelope["envelope_id"] == ack["envelope_id"]
    assert envelope["payload"] == {"command": "/release"} and envelope["accepts_response_payload"] is True
    assert fake.calls("apps.connections.open")[0]["error"] is None


def test_disconnect_makes_the_client_reconnect_with_a_new_url(fake):
    async def scenario() -> int:
        client = SocketModeClient(app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url))
        await client.connect()
        try:
            await asyncio.to_thread(fake.socket_disconnect)
            for _ in range(100):  # bounded polling for the client's reconnect
                if len(fake.calls("apps.connections.open")) == 2:
                    break
                await asyncio.sleep(0.02)
            return len(fake.calls("apps.connections.open"))
        finally:
            await client.close()

    assert asyncio.run(scenario()) == 2


def test_socket_send_times_out_without_a_client(fake):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        fake.socket_send("events_api", {}, timeout=0.1)
    assert time.monotonic() - started < 1


def test_socket_endpoint_rejects_unissued_tickets(fake):
    assert httpx.get(fake.base_url + "/socket?ticket=forged").status_code == 401


def test_state_is_safe_to_read_while_the_bot_writes(fake):
    client = WebClient(base_url=fake.api_url, token=fake.bot_token)
    writer = threading.Thread(target=lambda: [client.chat_postMessage(channel=CHANNEL, text="x") for _ in range(10)])
    writer.start()
    while writer.is_alive():
        assert all(m["text"] == "x" for m in fake.messages(CHANNEL))
    writer.join()
    assert len(fake.messages(CHANNEL)) == 10


def test_every_answer_names_the_granted_scopes_as_slack_does():
    with FakeSlack(scopes={"chat:write", "commands"}) as fake:
        answer = httpx.post(fake.api_url + "auth.test", headers={"Authorization": f"Bearer {fake.bot_token}"})
    assert answer.json()["ok"] is True
    assert answer.headers["x-oauth-scopes"] == "chat:write,commands"
