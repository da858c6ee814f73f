"""A scheduled daily cut that fails for a transient reason is made the same day, retried with
back-off on the injected clock; it never waits for the next day, and stops when its day ends."""

from __future__ import annotations

import asyncio
import datetime as dt
import os

import pytest

from bot.release.flows import DailyCutFailed
from bot.scheduler import daily_retry, run_job
from tests.conftest import START
from tests.test_candidates import checkout_settings, commits_by_the_team, rc, repo, team  # noqa: F401 (fixtures)


def scheduled_daily(rc) -> str:
    return asyncio.run(run_job(rc.runtime, "daily-candidates", scheduled=True))


def lookups(rc) -> int:
    return len(rc.fake.calls("users.lookupByEmail"))


def minutes_of_attempts(rc, until_minute: int) -> list[int]:
    """Run the retry job each minute of the injected clock; the minutes at which it cut again."""
    attempts = []
    for minute in range(1, until_minute + 1):
        rc.runtime.clock.set(START + dt.timedelta(minutes=minute))
        before = lookups(rc)
        asyncio.run(daily_retry(rc.runtime))
        if lookups(rc) > before:
            attempts.append(minute)
    return attempts


def test_a_daily_cut_failing_on_slack_is_retried_with_back_off_until_it_succeeds_the_same_day(rc):
    commits_by_the_team(rc.repo)
    rc.fake.failure_rate("users.lookupByEmail", 1.0)  # Slack answers 500 to every look-up
    with pytest.raises(DailyCutFailed):
        scheduled_daily(rc)
    assert minutes_of_attempts(rc, 45) == [1, 3, 7, 15, 30, 45]  # 1, 2, 4, 8, then every 15 minutes
    assert rc.api() == []
    rc.fake.failure_rate("users.lookupByEmail", 0.0)  # Slack is back
    rc.runtime.clock.set(START + dt.timedelta(minutes=60))
    assert "cut 2026.11.17-rc1" in asyncio.run(daily_retry(rc.runtime))
    assert rc.runtime.daily_retries == {}
    assert len(rc.api()) == 1
    rc.settled()
    assert len(rc.notices()) == 1
    assert "already made" in scheduled_daily(rc)  # claimed once: a later scheduled run cuts nothing


def test_retries_stop_when_the_day_ends_and_a_refusal_is_not_retried(rc):
    commits_by_the_team(rc.repo)
    rc.fake.failure_rate("users.lookupByEmail", 1.0)
    with pytest.raises(DailyCutFailed):
        scheduled_daily(rc)
    assert set(rc.runtime.daily_retries) == {"checkout"}
    midnight_in_new_york = dt.datetime(2026, 11, 18, 5, 0, tzinfo=dt.timezone.utc)
    rc.runtime.clock.set(midnight_in_new_york - dt.timedelta(minutes=1))
    asyncio.run(daily_retry(rc.runtime))
    assert set(rc.runtime.daily_retries) == {"checkout"}  # still Tuesday: still trying
    rc.runtime.clock.set(midnight_in_new_york + dt.timedelta(minutes=1))
    before = lookups(rc)
    asyncio.run(daily_retry(rc.runtime))
    assert rc.runtime.daily_retries == {} and lookups(rc) == before  # Wednesday: given up, no call made

    rc.fake.failure_rate("users.lookupByEmail", 0.0)
    os.rename(rc.repo.path, f"{rc.repo.path}-moved")  # the repository cannot be read
    rc.runtime.clock.set(START + dt.timedelta(days=1))
    with pytest.raises(DailyCutFailed):
        scheduled_daily(rc)
    assert rc.runtime.daily_retries == {}  # an unreadable repository is not healed by trying again
