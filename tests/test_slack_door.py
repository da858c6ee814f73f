"""The door to Slack: signatures, timestamps, redeliveries, help and unknown subcommands, over real HTTP."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import httpx
import pytest

from bot.slack.blocks.usage import RC_USAGE
from tests.conftest import API_TOKEN


def wait_for(condition, timeout: float = 5.0):
    """Poll for an effect the bot produces asynchronously; fail loudly when it never comes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("the expected effect did not happen")
        time.sleep(0.02)


def slash_body(fake, text: str = "help") -> bytes:
    return urlencode(
        {
            "command": "/rc",
            "text": text,
            "user_id": "U0DANA",
            "channel_id": "C0CHECKOUT",
            "team_id": fake.team_id,
            "response_url": fake.new_response_url(),
            "trigger_id": fake.new_trigger_id(),
        }
    ).encode()


def test_rc_help_lists_every_subcommand_privately(slack):
    response = slack.command("/rc", "help")
    assert response.status_code == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    for syntax, _meaning in RC_USAGE:
        assert syntax in reply["text"]


def test_an_unknown_subcommand_gets_the_usage_and_says_what_was_not_understood(slack):
    reply = slack.command("/rc", "deploy everything").json()
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("I did not understand `/rc deploy everything`")
    assert "/rc status [product]" in reply["text"]


def test_markup_in_what_was_not_understood_is_escaped(slack):
    reply = slack.command("/rc", "<!channel> & friends").json()
    assert "&lt;!channel&gt; &amp; friends" in reply["text"]
    assert "<!channel>" not in reply["text"]


@pytest.mark.parametrize("command", ["/flag", "/freeze"])
def test_the_other_commands_answer_with_their_usage(slack, command):
    reply = slack.command(command, "help").json()
    assert reply["response_type"] == "ephemeral"
    assert f"What `{command}` can do" in reply["text"]


def test_a_wrong_signature_is_refused_with_401_and_changes_nothing(slack, fake_slack):
    body = slash_body(fake_slack, "cut")
    response = slack.post_raw(body, "application/x-www-form-urlencoded", signature="v0=" + "0" * 64)
    assert response.status_code == 401
    assert fake_slack.calls() == []


@pytest.mark.parametrize("skew", [-301, 301, -3600])
def test_a_timestamp_more_than_five_minutes_off_is_refused(slack, fake_slack, skew):
    body = slash_body(fake_slack)
    response = slack.post_raw(body, "application/x-www-form-urlencoded", timestamp=int(time.time()) + skew)
    assert response.status_code == 401


def test_a_request_within_five_minutes_is_accepted(slack, fake_slack):
    body = slash_body(fake_slack)
    response = slack.post_raw(body, "application/x-www-form-urlencoded", timestamp=int(time.time()) - 240)
    assert response.status_code == 200


def test_a_body_changed_after_signing_is_refused(slack, fake_slack):
    body = slash_body(fake_slack, "help")
    timestamp = int(time.time())
    signature = slack.sign(body, timestamp)
    tampered = body.replace(b"text=help", b"text=cut")
    response = slack.post_raw(tampered, "application/x-www-form-urlencoded", timestamp=timestamp, signature=signature)
    assert response.status_code == 401


def test_a_flood_is_refused_before_parsing(slack):
    response = slack.post_raw(b"x" * (2 << 20), "application/x-www-form-urlencoded")
    assert response.status_code == 413


def test_a_redelivered_event_has_no_second_effect(slack, fake_slack):
    event = {"type": "app_home_opened", "user": "U0DANA", "channel": "D0DANA", "tab": "home"}
    assert slack.event(event, event_id="Ev0001").status_code == 200
    wait_for(lambda: fake_slack.calls("views.publish"))
    assert slack.event(event, event_id="Ev0001", retry_num=1).status_code == 200
    assert slack.event(event, event_id="Ev0001", retry_num=2, retry_reason="http_error").status_code == 200
    assert slack.event(event, event_id="Ev0002").status_code == 200
    wait_for(lambda: len(fake_slack.calls("views.publish")) == 2)
    home = fake_slack.home("U0DANA")
    assert "Checkout" in json.dumps(home)


def test_url_verification_echoes_the_challenge(slack):
    response = slack.url_verification("abc123")
    assert response.status_code == 200 and "abc123" in response.text


def test_healthz_metrics_and_the_api_door(bot, slack):
    assert httpx.get(bot.url + "/healthz").json() == {"status": "ok"}
    slack.command("/rc", "help")
    metrics = httpx.get(bot.url + "/metrics").text
    assert 'releasebot_slack_requests_total{kind="command",outcome="ok"}' in metrics
    assert "releasebot_slack_api_errors_total" in metrics and "releasebot_job_runs_total" in metrics
    assert httpx.get(bot.url + "/api/v1/products").status_code == 401
    wrong = httpx.get(bot.url + "/api/v1/products", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = httpx.get(bot.url + "/api/v1/products", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert right.status_code == 200
    assert [p["key"] for p in right.json()["products"]] == ["checkout", "search"]


@pytest.mark.parametrize("command", ["/rc", "/flag", "/freeze"])
def test_oversized_command_text_is_refused_before_any_listener(slack, fake_slack, command):
    reply = slack.command(command, "cut " + "x" * 5000).json()
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith(f"That is too long for `{command}` (5004 characters; at most 4000)")
    assert {call["method"] for call in fake_slack.calls()} <= {"auth.test"}  # Bolt's own first check only
