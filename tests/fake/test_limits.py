"""The whole-message text limit: blocks valid one by one still fail together past 12,000 characters."""

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.slack.fake.server import FakeSlack
from bot.slack.fake.validation import MESSAGE_MAX_BLOCKS_TEXT, blocks_text_length

CHANNEL = "C0CHECKOUT"


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def sections_of(total: int) -> list[dict]:
    """Valid sections holding exactly `total` characters of text."""
    full, rest = divmod(total, 3000)
    return [section("x" * 3000) for _ in range(full)] + ([section("y" * rest)] if rest else [])


@pytest.fixture(scope="module")
def server():
    with FakeSlack() as fake:
        fake.add_user("U0DANA", name="dana")
        fake.add_channel(CHANNEL, name="checkout", members=("U0DANA",))
        yield fake


@pytest.fixture
def client(server) -> WebClient:
    server.reset()
    return WebClient(base_url=server.api_url, token=server.bot_token)


def error_of(call) -> dict:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response.data


def test_blocks_with_12000_characters_of_text_are_accepted(client):
    assert client.chat_postMessage(channel=CHANNEL, text="t", blocks=sections_of(MESSAGE_MAX_BLOCKS_TEXT))["ok"]


def test_one_character_more_is_msg_blocks_too_long_on_every_method(client, server):
    blocks = sections_of(MESSAGE_MAX_BLOCKS_TEXT + 1)
    posted = error_of(lambda: client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))
    assert posted["error"] == "msg_blocks_too_long"
    assert "12001 characters" in posted["errors"][0] and "json-pointer:/blocks" in posted["errors"][0]
    ts = client.chat_postMessage(channel=CHANNEL, text="short")["ts"]
    assert error_of(lambda: client.chat_update(channel=CHANNEL, ts=ts, text="t", blocks=blocks))["error"] == "msg_blocks_too_long"
    assert server.message(CHANNEL, ts)["text"] == "short"
    ephemeral = error_of(lambda: client.chat_postEphemeral(channel=CHANNEL, user="U0DANA", text="t", blocks=blocks))
    assert ephemeral["error"] == "msg_blocks_too_long"
    assert [call["error"] for call in server.calls("chat.postMessage")] == ["msg_blocks_too_long", None]


def test_every_text_string_counts_fields_context_header_buttons_and_placeholders(client):
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000} for _ in range(5)]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 1000}]},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "action_id": "go", "text": {"type": "plain_text", "text": "b" * 50}, "value": "v" * 2000},
                {"type": "users_select", "action_id": "who", "placeholder": {"type": "plain_text", "text": "p" * 100}},
            ],
        },
    ]
    counted = 150 + 5 * 2000 + 1000 + 50 + 100  # a button's value is not text
    assert blocks_text_length(blocks) == counted
    room = MESSAGE_MAX_BLOCKS_TEXT - counted
    assert client.chat_postMessage(channel=CHANNEL, text="t", blocks=[*blocks, section("s" * room)])["ok"]
    too_long = [*blocks, section("s" * (room + 1))]
    assert error_of(lambda: client.chat_postMessage(channel=CHANNEL, text="t", blocks=too_long))["error"] == "msg_blocks_too_long"


def test_a_broken_block_is_still_invalid_blocks_however_long_the_message(client):
    blocks = [*sections_of(MESSAGE_MAX_BLOCKS_TEXT + 500), section("z" * 3001)]
    assert error_of(lambda: client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))["error"] == "invalid_blocks"


def test_the_fallback_text_is_not_counted(client):
    assert client.chat_postMessage(channel=CHANNEL, text="t" * 39_000, blocks=sections_of(MESSAGE_MAX_BLOCKS_TEXT))["ok"]


def test_a_response_url_refuses_too_long_blocks_too(server):
    url = server.new_response_url(channel_id=CHANNEL, user_id="U0DANA")
    answer = httpx.post(url, json={"text": "t", "blocks": sections_of(MESSAGE_MAX_BLOCKS_TEXT + 1)})
    assert (answer.status_code, answer.text) == (400, "msg_blocks_too_long")
