"""Messages as Slack stores and checks them: posts, threads, updates, Block Kit limits, ephemerals, permalinks."""

import json

import pytest

from tests.fake.common import CHANNEL, _many, button, section, slack_error


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
