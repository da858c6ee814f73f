"""The DORA figures on a history made through the services: releases, urgent cuts, a non-viable
next candidate, a kill switch in production; every figure exact, on both databases."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from bot.flags import service as flags
from bot.flags.model import FlagType
from bot.people import digest
from bot.people.stats import History, ReleasedChanges, Signal, SignalKind, figures, figures_json
from bot.release import releasing, service, signoffs
from bot.release.model import Commit, Trigger
from bot.release.releasing import ReleaseRequest
from bot.release.service import CutRequest
from bot.errors import Refused
from storage.slack_users import SlackUser

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 20, 20, 0, tzinfo=UTC)  # Friday 15:00 EST
PEOPLE = {"U0DANA": SlackUser("U0DANA", "dana", "dana@example.com", "America/New_York", False, False)}
HOUR = dt.timedelta(hours=1)


def at(day: int, hour: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=UTC)


class History_:
    """Cuts and releases of checkout, made through the services with explicit times."""

    def __init__(self, db, config):
        self.db, self.config = db, config
        self.product = config.product("checkout")
        self.head: str | None = None  # the last released head
        self.unreleased: list[Commit] = []  # what git gives after that head
        self.serial = 0

    def cut(self, when: dt.datetime, *commit_times: dt.datetime, urgent: str | None = None) -> int:
        for committed in commit_times:
            self.serial += 1
            self.unreleased.append(Commit(f"{self.serial:040x}", "dana@example.com", "Dana", f"change {self.serial}", committed))
        commits = list(self.unreleased)
        request = CutRequest(self.product, Trigger.MANUAL, "U0DANA", urgent_reason=urgent)
        outcome = service.record_cut(
            self.db, self.config, request, commits[-1].sha, self.head, commits,
            {"dana@example.com": "U0DANA"}, PEOPLE, when, random.Random(1),
        )
        return outcome.candidate.id

    def release(self, candidate_id: int, when: dt.datetime) -> None:
        done = releasing.record_release(self.db, self.config, ReleaseRequest(self.product, "U0DANA"), candidate_id, when)
        self.head, self.unreleased = done.head_sha, []

    def nonviable(self, candidate_id: int, when: dt.datetime, reason: str = "the basket is empty") -> None:
        signoffs.declare_nonviable(self.db, self.config, candidate_id, "U0DANA", reason, None, when)


def flag_switch(db, config, key: str, product: str, environment: str, op: str, when: dt.datetime) -> None:
    """Changes in a protected environment are asked by Dana and approved by the admin."""
    outcome = flags.change(db, config, key, environment, {"op": op}, "U0DANA", when)
    if outcome.request_id is not None:
        flags.decide(db, config, outcome.request_id, True, "U0ADMIN", when)


def build(db, config) -> None:
    h = History_(db, config)
    h.release(h.cut(at(14, 14, 10), at(14, 10, 10)), at(15, 14, 10))  # R0: before the window
    h.release(h.cut(at(2, 14), at(2, 10), at(2, 12)), at(3, 14))  # R1: lead times 28 h and 26 h
    h.release(h.cut(at(3, 20), at(3, 18), urgent="the total is wrong"), at(4, 0))  # urgent 6 h after R1: R1 failed; R2 restores (4 h)
    h.nonviable(h.cut(at(9, 14), at(9, 10)), at(9, 16))  # non-viable, but 5 days after R2: R2 did not fail
    h.release(h.cut(at(10, 14), at(10, 10)), at(11, 14))  # R3 carries 9 Nov 10:00 (52 h) and 10 Nov 10:00 (28 h)
    h.nonviable(h.cut(at(11, 18), at(11, 16)), at(12, 10))  # the next candidate on R3, non-viable 20 h later: R3 failed
    h.release(h.cut(at(12, 12), at(12, 11)), at(12, 16))  # R4 restores R3 (6 h); lead times 24 h and 5 h
    for key, product in (("basket", "checkout"), ("ranking", "search")):
        flags.create(db, config, key, FlagType.RELEASE, "", "U0DANA", product, at(12, 16))
        flag_switch(db, config, key, product, "production", "on", at(12, 17))
    flag_switch(db, config, "basket", "checkout", "production", "off", at(13, 9))  # kill switch 17 h after R4: R4 failed
    flag_switch(db, config, "basket", "checkout", "production", "on", at(13, 12))  # back on: restored in 3 h
    h.release(h.cut(at(16, 14), at(16, 10)), at(17, 14))  # R5: 28 h
    flag_switch(db, config, "ranking", "search", "production", "off", at(17, 15))  # another product's flag: no failure
    flag_switch(db, config, "basket", "checkout", "staging", "on", at(17, 15))
    flag_switch(db, config, "basket", "checkout", "staging", "off", at(17, 16))  # not a protected environment: no failure


def test_the_four_figures_of_a_history_are_exact(db, config):
    build(db, config)
    found = digest.product_figures(db, config, "checkout", NOW, 30)
    assert found.releases == 5  # R1 to R5; R0 is before the window
    assert found.per_week == pytest.approx(5 * 7 / 30)
    assert found.changes == 8  # 5, 6, 24, 26, 28, 28, 28, 52 hours
    assert found.lead_time_median == 27 * HOUR
    assert found.lead_time_p90 == 52 * HOUR
    assert [(f.release, f.signal.kind) for f in found.failures] == [
        ("2026.11.02-rc1", SignalKind.URGENT_CUT),  # R1, cut on 2 November
        ("2026.11.10-rc1", SignalKind.NON_VIABLE),  # R3
        ("2026.11.12-rc1", SignalKind.KILL_SWITCH),  # R4
    ]
    assert found.change_failure_rate == 60
    assert [f.time_to_restore for f in found.failures] == [4 * HOUR, 6 * HOUR, 3 * HOUR]
    assert found.time_to_restore_median == 4 * HOUR
    assert found.bands == {
        "deployment_frequency": "high", "lead_time_for_changes": "high", "change_failure_rate": "low", "time_to_restore": "high",
    }
    as_json = figures_json(found, config.stats.failure_window)
    assert as_json["lead_time_for_changes"] == {"median": 27.0, "p90": 52.0, "unit": "hours", "changes": 8, "band": "high"}
    assert as_json["change_failure_rate"]["value"] == 60.0 and as_json["change_failure_rate"]["failure_window_hours"] == 24.0


def test_a_shorter_failure_window_and_a_shorter_period_change_the_figures(db, config):
    build(db, config)
    strict = config.model_copy(update={"stats": config.stats.model_copy(update={"failure_window": dt.timedelta(hours=12)})})
    found = digest.product_figures(db, strict, "checkout", NOW, 30)
    assert [f.release for f in found.failures] == ["2026.11.02-rc1"]  # the non-viable (20 h) and the kill switch (17 h) fall outside
    week = digest.product_figures(db, config, "checkout", NOW, 7)
    assert week.releases == 1 and week.failures == () and week.time_to_restore_median is None  # R5 only
    assert week.bands["change_failure_rate"] == "elite" and week.bands["time_to_restore"] is None


def test_nothing_released_has_no_figures_but_frequency():
    empty = figures(History((), ()), NOW - 30 * 24 * HOUR, NOW, 24 * HOUR)
    assert (empty.releases, empty.lead_time_median, empty.change_failure_rate, empty.time_to_restore_median) == (0, None, None, None)
    assert empty.bands == {"deployment_frequency": "low", "lead_time_for_changes": None, "change_failure_rate": None, "time_to_restore": None}


def test_a_signal_counts_against_the_last_release_before_it_once():
    """Two signals after one release fail it once; an unrestored failure has no time to restore."""
    since = NOW - 30 * 24 * HOUR
    r1 = ReleasedChanges("r1", "a" * 40, NOW - 10 * HOUR)
    r2 = ReleasedChanges("r2", "b" * 40, NOW - 5 * HOUR)
    signals = (
        Signal(SignalKind.URGENT_CUT, NOW - 9 * HOUR, "u1"),  # against r1, restored by r2 (4 h later)
        Signal(SignalKind.URGENT_CUT, NOW - 8 * HOUR, "u2"),  # also after r1: r1 fails once
        Signal(SignalKind.KILL_SWITCH, NOW - 4 * HOUR, "flag"),  # against r2, never back on
        Signal(SignalKind.NON_VIABLE, NOW - 3 * HOUR, "c", base_sha="c" * 40),  # built on no release here
    )
    found = figures(History((r2, r1), signals), since, NOW, 24 * HOUR)
    assert [(f.release, f.signal.subject, f.time_to_restore) for f in found.failures] == [("r1", "u1", 4 * HOUR), ("r2", "flag", None)]
    assert found.unrestored == 1 and found.time_to_restore_median == 4 * HOUR


@pytest.mark.parametrize("typed", ["0", "-3", "366", "seven", "1.5", "", "٣"])
def test_bad_days_are_refused(typed):
    with pytest.raises(Refused, match="whole number from 1 to 365"):
        digest.parse_days(typed)


@pytest.mark.parametrize("typed, days", [(None, 30), ("1", 1), ("365", 365), (" 7 ", 7)])
def test_good_days_are_read(typed, days):
    assert digest.parse_days(typed) == days
