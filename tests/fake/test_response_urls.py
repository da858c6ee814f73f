"""Response URLs: ephemeral and in-channel replies, replacing and deleting the original, their limits."""

import httpx

from tests.fake.common import CHANNEL, section


def test_response_url_records_ephemeral_replies(fake):
    url = fake.new_response_url(channel_id=CHANNEL, user_id="U0DANA")
    answer = httpx.post(url, json={"text": "Working on it", "blocks": [section("…")]})
    assert (answer.status_code, answer.text) == (200, "ok")
    assert fake.responses(url) == [{"text": "Working on it", "blocks": [section("…")]}]
    assert fake.ephemerals(user="U0DANA")[0]["source"] == "response_url"
    assert fake.messages(CHANNEL) == []


def test_response_url_rejects_unknown_ids_bad_blocks_and_overuse(fake):
    assert httpx.post(fake.base_url + "/response/nope", json={"text": "x"}).status_code == 404
    url = fake.new_response_url(channel_id=CHANNEL)
    bad = httpx.post(url, json={"text": "x", "blocks": [section("x" * 3001)]})
    assert (bad.status_code, bad.text) == (400, "invalid_blocks")
    assert fake.responses(url) == []
    statuses = [httpx.post(url, json={"text": str(n)}).status_code for n in range(6)]
    assert statuses == [200] * 5 + [404]
    assert fake.calls("response_url")[0]["error"] == "no_service"


def test_response_url_in_channel_replace_and_delete(client, fake):
    url = fake.new_response_url(channel_id=CHANNEL, user_id="U0DANA")
    httpx.post(url, json={"response_type": "in_channel", "text": "for everyone"})
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["for everyone"]
    ts = client.chat_postMessage(channel=CHANNEL, text="Approve?")["ts"]
    message_url = fake.new_response_url(channel_id=CHANNEL, user_id="U0DANA", message_ts=ts)
    httpx.post(message_url, json={"replace_original": True, "text": "Approved"})
    assert fake.message(CHANNEL, ts)["text"] == "Approved"
    assert fake.message(CHANNEL, ts)["versions"] == [{"text": "Approve?", "blocks": None}]
    httpx.post(message_url, json={"delete_original": True})
    assert fake.message(CHANNEL, ts) is None
