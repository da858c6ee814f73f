"""Who the bot is and who people are: auth.test, tokens, scopes, users.info and email look-ups."""

from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from slack_sdk import WebClient

from bot.slack.fake.server import FakeSlack
from tests.fake.common import slack_error


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


def test_every_answer_names_the_granted_scopes_as_slack_does():
    with FakeSlack(scopes={"chat:write", "commands"}) as fake:
        answer = httpx.post(fake.api_url + "auth.test", headers={"Authorization": f"Bearer {fake.bot_token}"})
    assert answer.json()["ok"] is True
    assert answer.headers["x-oauth-scopes"] == "chat:write,commands"
