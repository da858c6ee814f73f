"""Socket Mode: the same listeners, reached over the websocket that apps.connections.open hands out."""

from __future__ import annotations

import httpx

from tests.harness import start_bot


def test_socket_mode_connects_through_slack_api_url_and_answers_commands(runtime, fake_slack):
    running = start_bot(runtime, socket_mode=True)
    try:
        assert fake_slack.socket_connected(timeout=10)
        assert fake_slack.calls("apps.connections.open"), "apps.connections.open must go to SLACK_API_URL"
        ack = fake_slack.socket_send(
            "slash_commands",
            {
                "command": "/rc",
                "text": "help",
                "user_id": "U0DANA",
                "channel_id": "C0CHECKOUT",
                "team_id": fake_slack.team_id,
                "response_url": fake_slack.new_response_url(),
                "trigger_id": fake_slack.new_trigger_id(),
            },
        )
        assert ack["payload"]["response_type"] == "ephemeral"
        assert "/rc status [product]" in ack["payload"]["text"]
        assert httpx.get(running.url + "/healthz").status_code == 200
        assert httpx.post(running.url + "/slack/events", content=b"{}").status_code == 404
    finally:
        running.stop()
