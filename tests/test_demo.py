"""`releasebot demo` as a process: no token, no configuration; it prints its URL, serves the page
and the workspace, and SIGTERM stops it within 10 s and removes its temporary folder."""

from __future__ import annotations

import httpx

from tests.demo_process import DemoProcess


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
    finally:
        took = demo.terminate()
    assert took < 10
    assert demo.process.returncode == 0, "".join(demo.output)
    assert not demo.folder.exists()
