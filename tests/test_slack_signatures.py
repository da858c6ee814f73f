"""Whatever cannot be verified as Slack's is a 401 that causes nothing: no Web API call, no post to
the body's response_url, whichever header or body is malformed, named or fuzzed."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.slack.ids import CANDIDATE_ACTIONS_BLOCK, VERIFY
from tests.test_slack_door import slash_body

FORM = "application/x-www-form-urlencoded"
# Printable Latin-1, what a header can carry: '²' and '³' are in it, digits to str.isdigit() but
# not to int(). HTTP strips spaces around a value, so none are drawn there.
HEADER_TEXT = st.text(st.characters(codec="latin-1", categories=("L", "N", "P", "S", "Zs")), max_size=80).map(str.strip)


def send(slack, body: bytes, headers: list[tuple[str, str]], content_type: str = FORM) -> httpx.Response:
    """POST `body` with exactly these Slack headers (repeats and omissions included)."""
    sent = [("Content-Type", content_type)] + [(name, value.encode("latin-1")) for name, value in headers]
    return httpx.post(slack.events_url, content=body, headers=sent)


def signed(slack, body: bytes, timestamp: str) -> list[tuple[str, str]]:
    return [("X-Slack-Request-Timestamp", timestamp), ("X-Slack-Signature", slack.sign(body, timestamp))]


def assert_refused_quietly(response: httpx.Response, fake_slack) -> None:
    assert response.status_code == 401
    assert fake_slack.calls() == [] and fake_slack.responses() == []


def malformed_headers(slack, body: bytes, now: int) -> list[list[tuple[str, str]]]:
    good = str(now)
    hex_only = slack.sign(body, good)[3:]
    return [
        [("X-Slack-Signature", slack.sign(body, good))],  # no timestamp
        [("X-Slack-Request-Timestamp", good)],  # no signature
        [],
        *(signed(slack, body, text) for text in ("abc", "1e9", f"{now}.0", f"+{now}", f"-{now}", "²³", f"0x{now:x}", "")),
        signed(slack, body, good) + [("X-Slack-Request-Timestamp", good)],  # two timestamps
        signed(slack, body, good) + [("X-Slack-Signature", "v0=" + "0" * 64)],  # two signatures
        [("X-Slack-Request-Timestamp", good), ("X-Slack-Signature", hex_only)],  # no v0=
        [("X-Slack-Request-Timestamp", good), ("X-Slack-Signature", "v1=" + hex_only)],
        [("X-Slack-Request-Timestamp", good), ("X-Slack-Signature", "v0=" + hex_only.upper())],
        [("X-Slack-Request-Timestamp", good), ("X-Slack-Signature", "v0=" + hex_only[:-1])],  # too short
        [("X-Slack-Request-Timestamp", good), ("X-Slack-Signature", "v0=" + hex_only + "0")],  # too long
        [("X-Slack-Request-Timestamp", good), ("X-Slack-Signature", "v0=" + hex_only[:-1] + "g")],  # not hex
        signed(slack, body, str(now - 330)),  # five and a half minutes either side
        signed(slack, body, str(now + 330)),
    ]


def test_every_malformed_signature_variant_is_401_and_nothing_happens(slack, fake_slack):
    body = slash_body(fake_slack, "cut")
    for headers in malformed_headers(slack, body, int(time.time())):
        response = send(slack, body, headers)
        assert response.status_code == 401, headers
        assert fake_slack.calls() == [] and fake_slack.responses() == [], headers


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"type": "block_actions", ', "application/json"),  # not JSON
        (b'["block_actions"]', "application/json"),  # JSON, but not an object
        (b"payload=" + b"%7Bnot+json", FORM),
        (b"payload=%5B1%2C2%5D&response_url=http%3A%2F%2Fexample", FORM),  # a payload that is a list
        (b"command=/rc&text=\xff\xfe", FORM),  # not UTF-8
    ],
)
def test_a_signed_body_that_is_not_a_slack_payload_is_401(slack, fake_slack, body, content_type):
    response = send(slack, body, signed(slack, body, str(int(time.time()))), content_type)
    assert_refused_quietly(response, fake_slack)


def interaction_body(fake_slack) -> bytes:
    payload = {"type": "block_actions", "user": {"id": "U0DANA"}, "team": {"id": fake_slack.team_id},
               "response_url": fake_slack.new_response_url(channel_id="C0CHECKOUT", user_id="U0DANA"),
               "actions": [{"action_id": VERIFY, "block_id": CANDIDATE_ACTIONS_BLOCK, "type": "button", "value": "1"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


def timestamp_is_acceptable(text: str, now: int) -> bool:
    return bool(re.fullmatch(r"[0-9]{1,12}", text)) and abs(int(text) - now) <= 300


@st.composite
def forged_headers(draw, slack, body: bytes) -> list[tuple[str, str]]:
    """Slack's two headers with one thing wrong, drawn at random."""
    now = int(time.time())
    good = signed(slack, body, str(now))
    kind = draw(st.sampled_from(["timestamp", "skew", "signature", "other_body", "drop", "repeat"]))
    if kind == "timestamp":  # signed over a timestamp that is not one
        text = draw(HEADER_TEXT)
        assume(not timestamp_is_acceptable(text, now))
        return signed(slack, body, text)
    if kind == "skew":
        skew = draw(st.integers(330, 10**12) | st.integers(-(10**12), -330))
        return signed(slack, body, str(now + skew))
    if kind == "signature":
        text = draw(HEADER_TEXT | st.builds(lambda hex_: "v0=" + hex_, st.text("0123456789abcdefABCDEF", max_size=80)))
        assume(text != good[1][1])
        return [good[0], ("X-Slack-Signature", text)]
    if kind == "other_body":
        return [good[0], ("X-Slack-Signature", slack.sign(body + draw(st.binary(min_size=1, max_size=8)), now))]
    if kind == "drop":
        return [draw(st.sampled_from(good))]
    return good + [draw(st.sampled_from(good))]  # a second timestamp or signature


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), interaction=st.booleans())
def test_fuzzed_slack_headers_are_401_and_nothing_happens(slack, fake_slack, data, interaction):
    body = interaction_body(fake_slack) if interaction else slash_body(fake_slack, "cut")
    headers = data.draw(forged_headers(slack, body))
    assert_refused_quietly(send(slack, body, headers), fake_slack)


def is_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


NOT_AN_OBJECT = st.text(max_size=200).filter(lambda text: not is_object(text))
NOT_A_PAYLOAD = st.one_of(
    st.binary(min_size=1, max_size=200).filter(lambda raw: not is_utf8(raw)).map(lambda raw: (raw, FORM)),
    NOT_AN_OBJECT.map(lambda text: (text.encode(), "application/json")),
    NOT_AN_OBJECT.map(lambda text: (urlencode({"payload": text, "response_url": "http://example.com/r"}).encode(), FORM)),
)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sent=NOT_A_PAYLOAD)
def test_fuzzed_signed_bodies_that_are_not_slack_payloads_are_401(slack, fake_slack, sent):
    body, content_type = sent
    response = send(slack, body, signed(slack, body, str(int(time.time()))), content_type)
    assert_refused_quietly(response, fake_slack)
