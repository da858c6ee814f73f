"""The daily cut's schedule: the configured time and days in the configured zone, DST included,
made up when the bot starts late the same day, and once per day however many processes start."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from bot.clock import FixedClock
from bot.config import Config
from bot.release.flows import daily_run_key
from bot.scheduler import _daily_trigger
from storage import jobs
from tests.conftest import BASE_CONFIG, make_runtime
from tests.gitrepo import GitRepo
from tests.harness import start_bot
from tests.test_slack_door import wait_for

UTC = dt.timezone.utc


def runtime_at(instant: dt.datetime) -> SimpleNamespace:
    """The schedule rules read only the configuration and the clock."""
    return SimpleNamespace(config=Config.model_validate(BASE_CONFIG), clock=FixedClock(instant))


def claimed(db, product: str, day: str) -> bool:
    with db.reading() as session:
        return jobs.is_claimed(session, "daily-candidates", product, day)


@pytest.mark.parametrize(
    "after, expected",
    [
        # the Friday before DST starts (March 8, 2026): 09:00 EST is 14:00 UTC; next is Monday 09:00 EDT = 13:00 UTC
        (dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC), dt.datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),
        (dt.datetime(2026, 3, 6, 13, 0, tzinfo=UTC), dt.datetime(2026, 3, 6, 14, 0, tzinfo=UTC)),
        # the Friday before DST ends (November 1, 2026): Friday 09:00 EDT = 13:00 UTC, Monday 09:00 EST = 14:00 UTC
        (dt.datetime(2026, 10, 30, 12, 0, tzinfo=UTC), dt.datetime(2026, 10, 30, 13, 0, tzinfo=UTC)),
        (dt.datetime(2026, 10, 30, 13, 30, tzinfo=UTC), dt.datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),
    ],
)
def test_the_daily_cut_fires_at_nine_new_york_time_on_weekdays_across_dst(after, expected):
    trigger = _daily_trigger(runtime_at(after))
    assert trigger.get_next_fire_time(None, after).astimezone(UTC) == expected


@pytest.mark.parametrize(
    "instant, key",
    [
        (dt.datetime(2026, 11, 17, 13, 59, tzinfo=UTC), None),  # Tuesday 08:59 EST: before the cut time
        (dt.datetime(2026, 11, 17, 14, 0, tzinfo=UTC), "2026-11-17"),  # Tuesday 09:00 EST
        (dt.datetime(2026, 11, 18, 4, 30, tzinfo=UTC), "2026-11-17"),  # still Tuesday evening in New York
        (dt.datetime(2026, 11, 21, 15, 0, tzinfo=UTC), None),  # Saturday
        (dt.datetime(2026, 7, 14, 13, 0, tzinfo=UTC), "2026-07-14"),  # 09:00 EDT in summer
        (dt.datetime(2026, 7, 14, 12, 59, tzinfo=UTC), None),
    ],
)
def test_a_run_belongs_to_the_local_day_once_the_cut_time_has_come(instant, key):
    assert daily_run_key(runtime_at(instant)) == key


def test_a_bot_started_late_makes_up_the_cut_once(db, fake_slack, tmp_path):
    repo = GitRepo(tmp_path / "checkout")
    repo.commit("Add the basket", "dana@example.com", when=dt.datetime(2026, 11, 16, 12, 0, tzinfo=UTC))
    quiet = GitRepo(tmp_path / "search")
    quiet.commit("Old", "dana@example.com", when=dt.datetime(2026, 10, 1, 12, 0, tzinfo=UTC))
    products = [
        {**BASE_CONFIG["products"][0], "repository": str(repo.path)},
        {**BASE_CONFIG["products"][1], "repository": str(quiet.path)},
    ]
    config = Config.model_validate({**BASE_CONFIG, "products": products})
    tuesday_eleven = dt.datetime(2026, 11, 17, 16, 0, tzinfo=UTC)

    for _restart in range(2):
        running = start_bot(make_runtime(db, fake_slack, config, FixedClock(tuesday_eleven)), run_scheduler=True)
        try:
            wait_for(lambda: fake_slack.messages("C0CHECKOUT"), timeout=10)
            wait_for(lambda: claimed(db, "search", "2026-11-17") and claimed(db, "checkout", "2026-11-17"), timeout=10)
        finally:
            running.stop()
    assert len(fake_slack.messages("C0CHECKOUT")) == 1
    assert fake_slack.messages("C0SEARCH") == []
