"""The outbound client: SLACK_API_URL, slack-sdk's retry handlers, and error counts in /metrics."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.slack.client import api_base_url, make_client


def run(coroutine):
    return asyncio.run(coroutine)


def test_the_base_url_always_ends_with_a_slash():
    assert api_base_url(None) == "https://slack.com/api/"
    assert api_base_url("http://127.0.0.1:9/api") == "http://127.0.0.1:9/api/"


def test_a_rate_limit_is_waited_out_and_retried(fake_slack):
    client = make_client(fake_slack.bot_token, fake_slack.api_url)
    fake_slack.fail_next("chat.postMessage", count=1, status=429, retry_after=1)
    response = run(client.chat_postMessage(channel="C0CHECKOUT", text="hello"))
    assert response["ok"]
    assert len(fake_slack.calls("chat.postMessage")) == 2
    assert [m["text"] for m in fake_slack.messages("C0CHECKOUT")] == ["hello"]


def test_server_errors_are_retried(fake_slack):
    client = make_client(fake_slack.bot_token, fake_slack.api_url)
    fake_slack.fail_next("chat.postMessage", count=2, status=500)
    assert run(client.chat_postMessage(channel="C0CHECKOUT", text="hello"))["ok"]
    assert len(fake_slack.calls("chat.postMessage")) == 3


def test_errors_that_remain_are_counted_by_method_and_error(fake_slack):
    client = make_client(fake_slack.bot_token, fake_slack.api_url)
    counter = metrics.slack_api_errors.labels("chat.postMessage", "channel_not_found")
    before = counter._value.get()
    with pytest.raises(SlackApiError):
        run(client.chat_postMessage(channel="C0NOWHERE", text="hello"))
    assert counter._value.get() == before + 1


def test_a_wrong_token_is_rejected_as_slack_does(fake_slack):
    client = make_client("xoxb-wrong", fake_slack.api_url)
    with pytest.raises(SlackApiError) as caught:
        run(client.auth_test())
    assert caught.value.response["error"] == "invalid_auth"
