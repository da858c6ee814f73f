"""Payload builders and the failing-call helper shared by the fake's tests."""

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

CHANNEL = "C0CHECKOUT"


def section(text: str, **extra) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str, text: str = "Go", **extra) -> dict:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, **extra}


def modal(title: str = "Sign off", blocks: list | None = None, **extra) -> dict:
    return {"type": "modal", "title": {"type": "plain_text", "text": title}, "blocks": blocks or [], **extra}


def slack_error(call) -> SlackResponse:
    """The response of a call that must fail with SlackApiError."""
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response


def _many(count: int, make) -> list:
    return [make(index) for index in range(count)]
