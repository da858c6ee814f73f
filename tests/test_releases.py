"""Production releases over HTTP: who may release, pending sign-offs, release hours, exceptions,
freezes, the signed deploy hook, the gate for pipelines and the record."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac

import httpx
import pytest

from bot.scheduler import run_job
from tests.conftest import API_TOKEN
from tests.hookserver import HookServer
from tests.test_candidates import MONDAY, checkout_settings, rc, repo, team  # noqa: F401 (fixtures)
from tests.test_slack_door import wait_for

UTC = dt.timezone.utc
FRIDAY_EVENING = dt.datetime(2026, 11, 20, 23, 0, tzinfo=UTC)  # 18:00 EST
HOOK_SECRET = "hook-secret"


@pytest.fixture
def hook(monkeypatch):
    server = HookServer()
    monkeypatch.setenv("CHECKOUT_HOOK_SECRET", HOOK_SECRET)
    yield server
    server.stop()


@pytest.fixture
def checkout_settings(hook):  # noqa: F811 (overrides the fixture imported above)
    return {"deploy_hook": {"url": hook.url, "secret_env": "CHECKOUT_HOOK_SECRET"}}


def ready_candidate(rc, *, verified: bool = True) -> dict:
    rc.repo.commit("Add the basket total", "dana@example.com", when=MONDAY)
    rc.repo.commit("Fix rounding", "lead@example.com", when=MONDAY)
    rc.daily("checkout")
    rc.settled()
    assert rc.api()[0]["release_manager"] == "U0DANA"  # the only engineer in New York
    rc.click("U0DANA", "rc_verify")
    if verified:
        rc.click("U0LEAD", "rc_verify")
    rc.settled()
    return rc.api()[0]


def gate(rc) -> dict:
    response = httpx.get(rc.running.url + "/api/v1/products/checkout/gate", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200
    return response.json()


def releases(rc) -> list[dict]:
    response = httpx.get(
        rc.running.url + "/api/v1/releases", params={"product": "checkout"}, headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    return response.json()["releases"]


def test_the_release_manager_releases_a_ready_candidate_and_the_hook_is_signed(rc, hook):
    candidate = ready_candidate(rc)
    assert candidate["state"] == "ready"
    assert "Only the release manager <@U0DANA> or an admin" in rc.command("release", "U0STRANGER")
    assert hook.requests == []
    assert "Released Checkout 2026.11.17-rc1" in rc.command("release", "U0DANA")
    rc.settled()
    assert rc.api()[0]["state"] == "released"
    [call] = hook.requests
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
    assert call["headers"]["X-Releasebot-Signature-256"] == expected
    assert call["json"]["product"] == "checkout" and call["json"]["version"] == "2026.11.17-rc1"
    assert call["json"]["head_sha"] == rc.repo.head() and call["json"]["release_manager"] == "U0DANA"
    assert call["json"]["exception"] is None
    notice = rc.notice()
    assert all(block["type"] != "actions" for block in notice["blocks"])
    [announcement] = [r for r in rc.fake.thread("C0CHECKOUT", notice["ts"]) if "released *Checkout" in r["text"]]
    assert announcement.get("subtype") == "thread_broadcast"  # told in the channel, not only the thread
    [record] = releases(rc)
    assert record["version"] == "2026.11.17-rc1" and record["released_by"] == "U0DANA" and record["exception"] is None
    history = rc.command("history", "U0STRANGER")
    assert "2026.11.17-rc1" in history and "<@U0DANA>" in history
    assert "has no candidate in progress" in rc.command("release", "U0DANA")


def test_pending_verifications_are_listed_and_a_reason_releases_anyway(rc, hook):
    ready_candidate(rc, verified=False)
    refusal = rc.command("release", "U0DANA")
    assert "still has pending verifications: <@U0LEAD>" in refusal and "/rc release <reason>" in refusal
    # the release manager alone releases only a ready candidate, reason or not
    refusal = rc.command("release QA covered the rounding fix", "U0DANA")
    assert "still has pending verifications: <@U0LEAD>" in refusal
    assert "a product admin or an admin must release it with the reason" in refusal and hook.requests == []
    assert "To release it anyway, give the reason" in rc.command("release", "U0ADMIN")
    assert "Released" in rc.command("release QA covered the rounding fix", "U0ADMIN")
    rc.settled()
    [record] = releases(rc)
    assert record["pending_reason"] == "QA covered the rounding fix"
    texts = rc.thread_texts(rc.notice())
    assert any("Released with pending verifications* (<@U0LEAD>): QA covered the rounding fix" in t for t in texts)


def test_outside_the_hours_the_refusal_says_when_and_offers_a_recorded_exception(rc, hook):
    ready_candidate(rc)
    rc.runtime.clock.set(FRIDAY_EVENING)
    refusal = rc.private_answer("U0DANA", lambda: rc.slack.command("/rc", "release", user_id="U0DANA"))
    assert "no production releases on Fridays" in refusal["text"] and "Next opening: Monday 08:00 EST" in refusal["text"]
    assert hook.requests == [] and rc.api()[0]["state"] == "ready"
    assert gate(rc) == {
        "open": False,
        "reasons": ["no production releases on Fridays"],
        "next_open": "2026-11-23T13:00:00+00:00",
    }

    [button] = [e for b in refusal["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == "Release with an exception"
    assert "Only the release manager" in rc.click("U0STRANGER", "rc_release_exception", value=button["value"])
    rc.slack.block_action("U0DANA", "rc_release_exception")
    [view] = wait_for(lambda: rc.fake.views(user="U0DANA"))
    missing = rc.slack.view_submission("U0DANA", "rc_exception_view", {"rc_exception_note": {"note": "checkout 500s"}})
    assert missing.json()["response_action"] == "errors"
    assert rc.api()[0]["state"] == "ready"
    chosen = rc.slack.view_submission(
        "U0DANA", "rc_exception_view",
        {
            "rc_exception_kind": {"kind": {"type": "radio_buttons", "selected_option": {"value": "production_down"}}},
            "rc_exception_note": {"note": "checkout answers 500 for everyone"},
        },
    )
    assert chosen.status_code == 200
    wait_for(lambda: rc.api()[0]["state"] == "released")
    rc.settled()
    [record] = releases(rc)
    assert record["exception"] == "production_down" and record["exception_note"] == "checkout answers 500 for everyone"
    assert hook.requests[0]["json"]["exception"]["label"] == "Production is down"
    assert any("*Exception:* Production is down. checkout answers 500 for everyone" in t for t in rc.thread_texts(rc.notice()))


def test_a_failing_hook_releases_nothing_and_tells_the_release_manager(rc, hook):
    ready_candidate(rc)
    hook.fail_with = [500, 502, 503]
    answer = rc.command("release", "U0DANA")
    assert "The deploy hook failed (HTTP 503)" in answer and "was not released" in answer
    assert len(hook.requests) == 3  # the first try and two retries
    rc.settled()
    assert rc.api()[0]["state"] == "ready" and releases(rc) == []
    assert "The deploy hook of *Checkout* failed" in rc.fake.dms("U0DANA")[-1]["text"]
    hook.fail_with = [403]
    assert "The deploy hook failed (HTTP 403)" in rc.command("release", "U0DANA")
    assert len(hook.requests) == 4  # a refusal by the pipeline is not retried
    assert "Released" in rc.command("release", "U0DANA")


def test_freezes_by_admins_announced_and_respected(rc, hook):
    ready_candidate(rc)
    assert "Only admins can freeze all products" in rc.command_of("/freeze", "start 3d Black Friday all", "U0DANA")
    assert "could not read `someday`" in rc.command_of("/freeze", "start someday peak all", "U0ADMIN")
    assert "Frozen until Friday 09:00 EST" in rc.command_of("/freeze", "start 3d Black Friday all", "U0ADMIN")
    rc.settled()
    for channel in ("C0CHECKOUT", "C0SEARCH"):
        assert "froze changes to all products" in rc.fake.messages(channel)[-1]["text"]
    assert "all products until Friday 09:00 EST" in rc.command_of("/freeze", "", "U0STRANGER")
    assert gate(rc)["open"] is False and "change freeze" in gate(rc)["reasons"][0]
    refusal = rc.command("release", "U0DANA")
    assert "change freeze until Friday 09:00 EST: Black Friday" in refusal
    assert "Only admins can end" in rc.command_of("/freeze", "end all", "U0DANA")
    assert "Ended 1 freeze" in rc.command_of("/freeze", "end all", "U0ADMIN")
    rc.settled()
    assert "ended the change freeze for all products" in rc.fake.messages("C0SEARCH")[-1]["text"]
    assert gate(rc)["open"] is True
    assert "No change freeze is in force." in rc.command_of("/freeze", "status", "U0STRANGER")


def test_a_freeze_that_runs_out_is_announced_once(rc):
    assert "Frozen" in rc.command_of("/freeze", "start 2h database move", "U0LEAD", channel="C0CHECKOUT")
    rc.settled()
    assert "froze changes to Checkout" in rc.fake.messages("C0CHECKOUT")[-1]["text"]
    assert rc.fake.messages("C0SEARCH") == []
    rc.runtime.clock.advance(hours=3)
    for _ in range(2):
        asyncio.run(run_job(rc.runtime, "freeze-ends"))
    rc.settled()
    ended = [m for m in rc.fake.messages("C0CHECKOUT") if "The change freeze has ended" in m["text"]]
    assert len(ended) == 1
