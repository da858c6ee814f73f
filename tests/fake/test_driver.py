"""The driver must produce requests a real Bolt app accepts, or end-to-end tests prove nothing."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.slack.fake.driver import SlackDriver
from bot.slack.fake.server import FakeSlack

SECRET = "test-signing-secret"
CHANNEL = "C0CHECKOUT"


def build_app(fake: FakeSlack) -> App:
    """A small Bolt app exercising the follow-up calls a real handler makes."""
    app = App(
        signing_secret=SECRET,
        client=WebClient(base_url=fake.api_url, token=fake.bot_token),
        process_before_response=True,
    )

    @app.command("/release")
    def release(ack, respond, command):
        ack()
        respond(f"starting {command['text']} for <@{command['user_id']}>")

    @app.action("approve")
    def approve(ack, body, client, respond):
        ack()
        client.views_open(
            trigger_id=body["trigger_id"],
            view={
                "type": "modal",
                "callback_id": "signoff",
                "private_metadata": body["actions"][0]["value"],
                "title": {"type": "plain_text", "text": "Sign off"},
                "submit": {"type": "plain_text", "text": "Sign"},
                "blocks": [
                    {
                        "type": "input",
                        "block_id": "note",
                        "label": {"type": "plain_text", "text": "Note"},
                        "element": {"type": "plain_text_input", "action_id": "text"},
                    }
                ],
            },
        )
        respond(replace_original=True, text=f"approved by {body['user']['name']}")

    @app.view("signoff")
    def signoff(ack, view, client):
        ack()
        note = view["state"]["values"]["note"]["text"]["value"]
        client.chat_postMessage(channel=CHANNEL, text=f"{view['private_metadata']}: {note}")

    @app.event("app_mention")
    def mention(event, say):
        say(text="hello", thread_ts=event["ts"])

    return app


class BoltReceiver:
    """Serves a Bolt app over real HTTP and keeps each raw request for inspection."""

    def __init__(self, app: App) -> None:
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                headers = {name.lower(): value for name, value in self.headers.items()}
                receiver.requests.append({"body": body, "headers": headers})
                response = app.dispatch(BoltRequest(body=body, headers=headers))
                payload = response.body.encode()
                self.send_response(response.status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/slack/events"
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def last_payload(self) -> dict:
        return json.loads(parse_qs(self.requests[-1]["body"])["payload"][0])


@pytest.fixture(scope="module")
def setup():
    with FakeSlack() as fake:
        fake.add_user("U0DANA", name="dana")
        fake.add_channel(CHANNEL, name="checkout", members=("U0DANA",))
        receiver = BoltReceiver(build_app(fake))
        with SlackDriver(receiver.url, SECRET, fake) as driver:
            yield fake, receiver, driver
        receiver.close()


@pytest.fixture
def fake(setup):
    setup[0].reset()
    return setup[0]


@pytest.fixture
def receiver(setup):
    return setup[1]


@pytest.fixture
def driver(setup):
    return setup[2]


def test_command_is_signed_and_shaped_like_slack(fake, receiver, driver):
    response = driver.command("/release", "v1.2.0")
    assert response.status_code == 200
    fields = parse_qs(receiver.requests[-1]["body"])
    assert fields["channel_name"] == ["checkout"] and fields["user_name"] == ["dana"]
    assert fields["team_id"] == [fake.team_id] and fields["is_enterprise_install"] == ["false"]
    [reply] = fake.responses(fields["response_url"][0])
    assert reply["text"] == "starting v1.2.0 for <@U0DANA>"


def test_block_action_clicks_the_button_of_the_stored_message(fake, receiver, driver):
    client = WebClient(base_url=fake.api_url, token=fake.bot_token)
    button = {"type": "button", "action_id": "approve", "value": "rc-7", "text": {"type": "plain_text", "text": "OK"}}
    ts = client.chat_postMessage(
        channel=CHANNEL, text="Approve?", blocks=[{"type": "actions", "block_id": "gate", "elements": [button]}]
    )["ts"]
    assert driver.block_action("U0DANA", "approve").status_code == 200
    payload = receiver.last_payload()
    assert payload["actions"][0] | {"action_ts": None} == {
        "type": "button",
        "action_id": "approve",
        "block_id": "gate",
        "value": "rc-7",
        "text": button["text"],
        "action_ts": None,
    }
    assert payload["container"] == {"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": False}
    assert payload["message"]["ts"] == ts and payload["message"]["text"] == "Approve?"
    assert fake.message(CHANNEL, ts)["text"] == "approved by dana"
    [modal] = fake.views(user="U0DANA")
    assert modal["private_metadata"] == "rc-7"


def test_users_select_action_carries_the_selected_user(receiver, driver):
    driver.block_action("U0DANA", "pick_rm", selected_user="U0ERIN")
    action = receiver.last_payload()["actions"][0]
    assert (action["type"], action["selected_user"], action["block_id"]) == ("users_select", "U0ERIN", "b")
    assert receiver.last_payload()["container"]["is_ephemeral"] is True


def test_view_submission_echoes_the_opened_modal(fake, receiver, driver):
    client = WebClient(base_url=fake.api_url, token=fake.bot_token)
    button = {"type": "button", "action_id": "approve", "value": "rc-9", "text": {"type": "plain_text", "text": "OK"}}
    client.chat_postMessage(channel=CHANNEL, text="Approve?", blocks=[{"type": "actions", "elements": [button]}])
    driver.block_action("U0DANA", "approve")
    [modal] = fake.views(user="U0DANA")
    assert driver.view_submission("U0DANA", "signoff", {"note": {"text": "looks good"}}).status_code == 200
    view = receiver.last_payload()["view"]
    assert view["id"] == modal["view_id"] and view["blocks"] == modal["blocks"]
    assert view["state"]["values"]["note"]["text"] == {"type": "plain_text_input", "value": "looks good"}
    assert [m["text"] for m in fake.messages(CHANNEL)][-1] == "rc-9: looks good"


def test_event_callback_with_retry_headers(fake, receiver, driver):
    mention_ts = fake.post_user_message(CHANNEL, "U0DANA", "<@UBOT> hi")  # Slack stores it before the event
    event = {"type": "app_mention", "user": "U0DANA", "text": "<@UBOT> hi", "channel": CHANNEL, "ts": mention_ts}
    assert driver.event(event, event_id="Ev1", retry_num=1).status_code == 200
    sent = receiver.requests[-1]
    assert sent["headers"]["x-slack-retry-num"] == "1"
    assert sent["headers"]["x-slack-retry-reason"] == "http_timeout"
    envelope = json.loads(sent["body"])
    assert envelope["event_id"] == "Ev1" and envelope["authorizations"][0]["user_id"] == fake.bot_user_id
    assert [m["text"] for m in fake.thread(CHANNEL, mention_ts)] == ["hello"]


def test_url_verification_echoes_the_challenge(driver):
    response = driver.url_verification("abc123")
    assert response.status_code == 200 and response.json()["challenge"] == "abc123"


def test_forged_stale_or_unsigned_requests_are_refused(driver):
    body = json.dumps({"type": "url_verification", "challenge": "x"})
    assert driver.post_raw(body, "application/json", signature="v0=" + "0" * 64).status_code == 401
    assert driver.post_raw(body, "application/json", timestamp=int(time.time()) - 600).status_code == 401
    assert driver.post_raw(body, "application/json", headers={"X-Slack-Signature": None}).status_code == 401
    assert driver.post_raw(body, "application/json").status_code == 200


def test_sign_matches_slacks_documented_example():
    # The example request from Slack's "Verifying requests from Slack" guide.
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    with SlackDriver("http://unused", "8f742231b10e8888abcd99yyyzzz85a5", fake=None) as driver:
        signature = driver.sign(body, 1531420618)
    assert signature == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_view_action_clicks_a_button_in_an_opened_modal(fake, receiver, driver):
    client = WebClient(base_url=fake.api_url, token=fake.bot_token)
    page = {"type": "button", "action_id": "next_page", "value": "7:1", "text": {"type": "plain_text", "text": "Next"}}
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "All"}, "blocks": [{"type": "actions", "elements": [page]}]}
    opened = client.views_open(trigger_id=fake.new_trigger_id("U0DANA"), view=modal)["view"]
    assert driver.view_action("U0DANA", "next_page").status_code == 404  # signed and parsed; no listener here
    payload = receiver.last_payload()
    assert payload["type"] == "block_actions" and payload["container"] == {"type": "view", "view_id": opened["id"]}
    assert payload["view"]["id"] == opened["id"] and payload["view"]["hash"] == opened["hash"]
    assert payload["actions"][0]["value"] == "7:1" and "response_url" not in payload
    with pytest.raises(ValueError):
        driver.view_action("U0DANA", "no_such_button")
