"""The async clients the bot runs (AsyncWebClient, Socket Mode) and reads of the fake while the bot writes."""

import asyncio
import threading
import time

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake.common import CHANNEL


def test_async_web_client_works_against_the_fake(fake):
    async def scenario() -> tuple[str, str]:
        client = AsyncWebClient(base_url=fake.api_url, token=fake.bot_token)
        posted = await client.chat_postMessage(channel=CHANNEL, text="async")
        user = await client.users_info(user="U0DANA")
        return posted["ts"], user["user"]["name"]

    ts, name = asyncio.run(scenario())
    assert fake.message(CHANNEL, ts)["text"] == "async"
    assert name == "dana"


# ---------------------------------------------------------------- Socket Mode


def test_socket_mode_hello_and_acknowledged_envelopes(fake):
    received: list[dict] = []

    async def scenario() -> dict:
        client = SocketModeClient(app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url))

        async def on_message(socket_client, message, raw):
            received.append(message)

        async def on_request(socket_client, request):
            ack = SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "ack:" + request.type})
            await socket_client.send_socket_mode_response(ack)

        client.message_listeners.append(on_message)
        client.socket_mode_request_listeners.append(on_request)
        await client.connect()
        try:
            return await asyncio.to_thread(fake.socket_send, "slash_commands", {"command": "/release"}, 3)
        finally:
            await client.close()

    ack = asyncio.run(scenario())
    assert ack["payload"] == {"text": "ack:slash_commands"}
    assert received[0]["type"] == "hello" and received[0]["num_connections"] == 1
    envelope = received[1]
    assert envelope["envelope_id"] == ack["envelope_id"]
    assert envelope["payload"] == {"command": "/release"} and envelope["accepts_response_payload"] is True
    assert fake.calls("apps.connections.open")[0]["error"] is None


def test_disconnect_makes_the_client_reconnect_with_a_new_url(fake):
    async def scenario() -> int:
        client = SocketModeClient(app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url))
        await client.connect()
        try:
            await asyncio.to_thread(fake.socket_disconnect)
            for _ in range(100):  # bounded polling for the client's reconnect
                if len(fake.calls("apps.connections.open")) == 2:
                    break
                await asyncio.sleep(0.02)
            return len(fake.calls("apps.connections.open"))
        finally:
            await client.close()

    assert asyncio.run(scenario()) == 2


def test_socket_send_times_out_without_a_client(fake):
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        fake.socket_send("events_api", {}, timeout=0.1)
    assert time.monotonic() - started < 1


def test_socket_endpoint_rejects_unissued_tickets(fake):
    assert httpx.get(fake.base_url + "/socket?ticket=forged").status_code == 401


def test_state_is_safe_to_read_while_the_bot_writes(fake):
    client = WebClient(base_url=fake.api_url, token=fake.bot_token)
    writer = threading.Thread(target=lambda: [client.chat_postMessage(channel=CHANNEL, text="x") for _ in range(10)])
    writer.start()
    while writer.is_alive():
        assert all(m["text"] == "x" for m in fake.messages(CHANNEL))
    writer.join()
    assert len(fake.messages(CHANNEL)) == 10
