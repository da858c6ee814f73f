"""Release hours around every edge, with holidays and freezes, as plain rules with chosen instants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.release.freezes import parse_until
from bot.release.hours import Freeze, ReleaseWindow
from bot.errors import Refused

NY = ZoneInfo("America/New_York")
UTC = dt.timezone.utc
WINDOW = ReleaseWindow(Config().release_hours)


def at(year, month, day, hour, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=NY)


@pytest.mark.parametrize(
    "instant, is_open",
    [
        (at(2026, 11, 17, 7, 59), False),  # Tuesday, before the hours
        (at(2026, 11, 17, 8, 0), True),
        (at(2026, 11, 17, 15, 59), True),
        (at(2026, 11, 17, 16, 0), False),
        (at(2026, 7, 14, 7, 59), False),  # the same edges in summer time (EDT)
        (at(2026, 7, 14, 8, 0), True),
        (at(2026, 7, 14, 15, 59), True),
        (at(2026, 7, 14, 16, 0), False),
        (at(2026, 3, 9, 8, 0), True),  # the Monday after DST starts (March 8)
        (at(2026, 3, 9, 7, 59), False),
        (at(2026, 11, 2, 8, 0), True),  # the Monday after DST ends (November 1)
        (at(2026, 11, 2, 15, 59), True),
        (at(2026, 11, 20, 10, 0), False),  # Friday: no Friday deploys
        (at(2026, 11, 22, 10, 0), False),  # Sunday
        (at(2026, 11, 26, 10, 0), False),  # Thanksgiving
        (at(2026, 11, 25, 10, 0), False),  # the day before Thanksgiving
        (at(2026, 11, 24, 10, 0), True),
        (at(2026, 8, 31, 10, 0), True),  # an ordinary Monday
        (at(2026, 9, 7, 10, 0), False),  # Labor Day (Monday)
    ],
)
def test_the_hours_at_each_edge(instant, is_open):
    assert WINDOW.verdict(instant.astimezone(UTC), [], "checkout").open is is_open


def test_the_hours_are_read_in_their_own_zone_across_dst():
    # 12:00 UTC is 08:00 EDT in July but 07:00 EST in November
    assert WINDOW.verdict(dt.datetime(2026, 7, 14, 12, 0, tzinfo=UTC), [], "x").open
    assert not WINDOW.verdict(dt.datetime(2026, 11, 17, 12, 0, tzinfo=UTC), [], "x").open


def test_friday_evening_points_to_monday_morning():
    verdict = WINDOW.verdict(at(2026, 11, 20, 18, 0).astimezone(UTC), [], "checkout")
    assert verdict.reasons == ("no production releases on Fridays",)
    assert verdict.next_open == at(2026, 11, 23, 8, 0)
    assert WINDOW.describe(verdict.next_open) == "Monday 08:00 EST"


def test_the_day_before_thanksgiving_says_why_and_when_next():
    verdict = WINDOW.verdict(at(2026, 11, 25, 10, 0).astimezone(UTC), [], "checkout")
    assert verdict.reasons == ("Wednesday November 25 is the working day before a holiday (Thanksgiving Day on Thursday)",)
    assert verdict.next_open == at(2026, 11, 30, 8, 0)


def test_the_working_day_before_a_monday_holiday_is_the_friday():
    hours = Config.model_validate({"release_hours": {"days": ["mon", "tue", "wed", "thu", "fri"]}}).release_hours
    window = ReleaseWindow(hours)
    assert "working day before a holiday (Labor Day" in window.verdict(at(2026, 9, 4, 10).astimezone(UTC), [], "x").reasons[0]
    assert window.verdict(at(2026, 9, 3, 10).astimezone(UTC), [], "x").open


def test_holidays_can_be_switched_off():
    window = ReleaseWindow(Config.model_validate({"release_hours": {"holidays": "none"}}).release_hours)
    assert window.verdict(at(2026, 11, 26, 10).astimezone(UTC), [], "x").open


def freeze(scope: str, start: dt.datetime, end: dt.datetime) -> Freeze:
    return Freeze(1, scope, start.astimezone(UTC), end.astimezone(UTC), "Black Friday", "U0ADMIN")


def test_a_freeze_closes_its_product_and_all_freezes_close_everything():
    f = freeze("checkout", at(2026, 11, 16, 0), at(2026, 11, 18, 12, 0))
    instant = at(2026, 11, 17, 10).astimezone(UTC)
    closed = WINDOW.verdict(instant, [f], "checkout")
    assert not closed.open and closed.reasons[0].startswith("change freeze until Wednesday 12:00 EST: Black Friday")
    assert closed.next_open == at(2026, 11, 18, 12, 0)  # the freeze ends inside the hours: that is the opening
    assert WINDOW.verdict(instant, [f], "search").open
    everything = freeze("all", at(2026, 11, 16, 0), at(2026, 11, 18, 12, 0))
    assert not WINDOW.verdict(instant, [everything], "search").open


def test_a_freeze_ending_after_hours_opens_the_next_morning():
    f = freeze("all", at(2026, 11, 16, 0), at(2026, 11, 17, 18, 0))
    verdict = WINDOW.verdict(at(2026, 11, 17, 10).astimezone(UTC), [f], "checkout")
    assert verdict.next_open == at(2026, 11, 18, 8, 0)


def test_a_freeze_that_has_ended_no_longer_blocks_a_waiting_release():
    f = freeze("checkout", at(2026, 11, 16, 0), at(2026, 11, 17, 11, 0))
    assert not WINDOW.verdict(at(2026, 11, 17, 10, 59).astimezone(UTC), [f], "checkout").open
    assert WINDOW.verdict(at(2026, 11, 17, 11, 0).astimezone(UTC), [f], "checkout").open


NOW = at(2026, 11, 17, 10, 0).astimezone(UTC)


@pytest.mark.parametrize(
    "words, until, used",
    [
        (["3d", "holidays"], NOW + dt.timedelta(days=3), 1),
        (["12h"], NOW + dt.timedelta(hours=12), 1),
        (["90m"], NOW + dt.timedelta(minutes=90), 1),
        (["2w"], NOW + dt.timedelta(weeks=2), 1),
        (["2026-11-30", "peak"], at(2026, 12, 1, 0, 0), 1),  # frozen through the whole day
        (["2026-11-30", "17:00", "peak"], at(2026, 11, 30, 17, 0), 2),
        (["2026-11-30T17:00"], at(2026, 11, 30, 17, 0), 1),
    ],
)
def test_until_accepts_dates_times_and_durations(words, until, used):
    assert parse_until(words, NOW, "America/New_York") == (until, used)


@pytest.mark.parametrize("words", [["tomorrow"], ["3x"], ["2026-13-40"], ["2026-11-01"], [], ["0m"]])
def test_nonsense_or_the_past_is_refused_with_an_example(words):
    with pytest.raises(Refused) as refused:
        parse_until(words, NOW, "America/New_York")
    assert "2026-11-30" in str(refused.value) or "already passed" in str(refused.value)


@pytest.mark.parametrize(
    "words", [["99999d"], ["367d"], ["9999w"], ["9" * 30 + "m"], ["9999-12-31"], ["9999-12-30"], ["2030-01-01", "10:00"]]
)
def test_a_freeze_end_far_in_the_future_is_refused_in_plain_words(words):
    with pytest.raises(Refused, match="A freeze lasts at most 366 days"):
        parse_until(words, NOW, "America/New_York")
    assert parse_until(["366d"], NOW, "America/New_York")[0] == NOW + dt.timedelta(days=366)


def test_a_freeze_without_a_practical_end_still_gives_an_answer():
    """Freezes stored before the limit, or by hand: the verdict must still come, and quickly."""
    f = freeze("all", at(2026, 11, 16, 0), dt.datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    verdict = WINDOW.verdict(NOW, [f], "checkout")
    assert not verdict.open and verdict.next_open == f.ends_at
    assert "9999" in WINDOW.describe(verdict.next_open, NOW)
