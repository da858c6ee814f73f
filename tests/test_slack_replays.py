"""A signed request sent again byte for byte (Slack's retry, or a captured request replayed within
the five-minute window) is answered 200 with an empty body and has no second effect, on any replica."""

from __future__ import annotations

import asyncio

import httpx

from bot.inbox import first_signed_request, forget_old_requests
from bot.scheduler import run_job
from tests.harness import start_bot
from tests.test_candidates import checkout_settings, commits_by_the_team, rc, repo, team  # noqa: F401 (fixtures)
from tests.test_slack_door import wait_for


def slack_traffic(fake) -> list[str]:
    """Every Web API method called and every response_url post, in order."""
    return [call["method"] for call in fake.calls()]


def replays(rc, kind: str) -> float:
    """The replay counter (the registry is the process's, shared by every test)."""
    metric = f'releasebot_slack_requests_total{{kind="{kind}",outcome="replay"}} '
    lines = httpx.get(rc.running.url + "/metrics").text.splitlines()
    return next((float(line.removeprefix(metric)) for line in lines if line.startswith(metric)), 0.0)


def test_a_replayed_slash_command_cuts_once(rc):
    commits_by_the_team(rc.repo)
    first = rc.slack.command("/rc", "cut", user_id="U0ERIN")
    assert first.status_code == 200
    wait_for(lambda: rc.api())
    rc.settled()
    before, counted = slack_traffic(rc.fake), replays(rc, "command")
    answers = len(rc.fake.ephemerals(user="U0ERIN"))
    replay = rc.slack.resend()
    assert replay.status_code == 200 and replay.content == b""
    assert rc.slack.resend().content == b""  # and again
    rc.settled()
    assert len(rc.api()) == 1
    assert len(rc.notices()) == 1
    assert len(rc.fake.ephemerals(user="U0ERIN")) == answers  # not even "already in progress"
    assert slack_traffic(rc.fake) == before
    assert replays(rc, "command") == counted + 2


def test_a_replayed_verified_click_signs_off_once_even_on_another_replica(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    assert rc.slack.block_action("U0LEAD", "rc_verify").status_code == 200
    wait_for(lambda: any(e["user"] == "U0LEAD" and e["state"] == "verified" for e in rc.api()[0]["engineers"]))
    rc.settled()
    before, counted = slack_traffic(rc.fake), replays(rc, "action")
    thread = rc.thread_texts(rc.notice())
    other = start_bot(rc.runtime)  # a second replica on the same database
    try:
        for url in (rc.running.events_url, other.events_url):
            replay = rc.slack.resend(url)
            assert replay.status_code == 200 and replay.content == b""
    finally:
        other.stop()
    rc.settled()
    assert rc.thread_texts(rc.notice()) == thread
    assert slack_traffic(rc.fake) == before
    assert replays(rc, "action") == counted + 2


def test_a_different_request_from_the_same_user_still_counts(rc):
    commits_by_the_team(rc.repo)
    rc.slack.command("/rc", "cut", user_id="U0ERIN")
    wait_for(lambda: rc.api())
    assert "already has a candidate in progress" in rc.command("cut", "U0ERIN")  # new timestamp or body


def test_replay_digests_are_shared_and_pruned_after_ten_minutes(rc):
    runtime = rc.runtime
    assert first_signed_request(runtime.db, runtime.clock, "1700000000", "v0=" + "a" * 64)
    assert not first_signed_request(runtime.db, runtime.clock, "1700000000", "v0=" + "a" * 64)
    assert first_signed_request(runtime.db, runtime.clock, "1700000001", "v0=" + "a" * 64)
    runtime.clock.advance(minutes=9)
    assert forget_old_requests(runtime.db, runtime.clock) == 0
    runtime.clock.advance(minutes=2)
    summary = asyncio.run(run_job(runtime, "housekeeping"))
    assert "2 old request signatures" in summary
    assert first_signed_request(runtime.db, runtime.clock, "1700000000", "v0=" + "a" * 64)
