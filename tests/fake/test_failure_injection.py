"""Failures a test can inject (429s with Retry-After, 5xx, API errors, seeded failure rates) and reset."""

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from tests.fake.common import CHANNEL, slack_error


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
