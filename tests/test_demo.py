"""`releasebot demo` as a process: no token, no configuration; it prints its URL, serves the page
and the workspace, runs the scheduled cut on its own clock, and SIGTERM stops it within 10 s and
removes its temporary folder."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from bot.clock import FixedClock, OffsetClock

from tests.demo_process import DemoProcess
from tests.test_slack_door import wait_for


def test_the_demo_starts_with_nothing_serves_the_workspace_and_stops_cleanly_on_sigterm():
    demo = DemoProcess()
    try:
        assert demo.folder.is_dir() and (demo.folder / "releasebot.yml").is_file()
        page = httpx.get(demo.url, timeout=10)
        assert page.status_code == 200 and "Run the daily cut now" in page.text
        assert httpx.get(demo.url + "static/app.js", timeout=10).status_code == 200
        state = httpx.get(demo.url + "api/state", params={"user": "U01ANA"}, timeout=10).json()
        assert [c["name"] for c in state["channels"] if c["kind"] == "channel"][:3] == [
            "checkout-releases", "search-releases", "payments-releases"]
        assert {p["tz"] for p in state["people"]} >= {"America/New_York", "Europe/London", "Asia/Singapore"}

        cut = httpx.post(demo.url + "api/cut", timeout=30).json()["summary"]
        assert "checkout: cut" in cut and "search: cut" in cut and "payments: cut" in cut

        # the next day's cut comes from the scheduler on the demo's clock, with the new commits
        def checkout_notices() -> list[dict]:
            state = httpx.get(demo.url + "api/state", params={"user": "U01ANA"}, timeout=10).json()
            return [m for m in state["channels"][0]["messages"] if not m.get("ephemeral")]

        wait_for(checkout_notices, timeout=10)
        assert httpx.post(demo.url + "api/commits", timeout=10).json()["count"] == 6
        for step in ("1d", "1h"):  # the day after, 08:30, then past the 09:00 cut
            httpx.post(demo.url + "api/clock", json={"step": step}, timeout=30).raise_for_status()
        notices = wait_for(lambda: len(checkout_notices()) == 2 and checkout_notices(), timeout=10)
        assert "superseded" in notices[0]["text"] and "verifying" in notices[1]["text"]
    finally:
        took = demo.terminate()
    assert took < 10
    assert demo.process.returncode == 0, "".join(demo.output)
    assert not demo.folder.exists()


def test_the_offset_clock_follows_the_wall_clock_and_moves_only_forward():
    wall = FixedClock(dt.datetime(2026, 11, 17, 12, 0, tzinfo=dt.timezone.utc))
    clock = OffsetClock(dt.datetime(2026, 11, 18, 13, 30, tzinfo=dt.timezone.utc), wall=wall)
    wall.advance(minutes=5)
    clock.advance(days=1)
    assert clock.now() == dt.datetime(2026, 11, 19, 13, 35, tzinfo=dt.timezone.utc)
    assert clock.time() == clock.now().timestamp()
    with pytest.raises(ValueError):
        clock.advance(hours=-1)
