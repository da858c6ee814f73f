"""The four DORA figures of a product, computed from the bot's own records (no SQL, no Slack).

Storage loads a `History` (the releases of a window, the commit times of their changes, and
the signals that a release went wrong); `figures` turns it into numbers with DORA's bands.
The definitions are spelled out in the README ("Delivery figures").
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from dataclasses import dataclass
from enum import StrEnum

DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)
MONTH = dt.timedelta(days=30)
HOUR = dt.timedelta(hours=1)


class SignalKind(StrEnum):
    URGENT_CUT = "urgent_cut"  # an urgent candidate of the same product
    NON_VIABLE = "non_viable"  # the candidate built on the release was declared non-viable
    KILL_SWITCH = "kill_switch"  # `/flag off` of one of the product's flags in a protected environment


@dataclass(frozen=True)
class ReleasedChanges:
    """A production release and the commit times of the changes it took out (those recorded)."""

    version: str
    head_sha: str
    released_at: dt.datetime
    committed: tuple[dt.datetime, ...] = ()


@dataclass(frozen=True)
class Signal:
    """Something that says the release before it went wrong.

    `base_sha` (non-viable) is the head the declared candidate was built on: it only counts
    against the release of that head. `restored_at` (kill switch) is when the flag was back on."""

    kind: SignalKind
    at: dt.datetime
    subject: str
    base_sha: str | None = None
    restored_at: dt.datetime | None = None


@dataclass(frozen=True)
class History:
    releases: tuple[ReleasedChanges, ...]  # any order; those before the window are used to attribute signals
    signals: tuple[Signal, ...]


@dataclass(frozen=True)
class Failure:
    release: str
    signal: Signal
    restored_at: dt.datetime | None

    @property
    def time_to_restore(self) -> dt.timedelta | None:
        return self.restored_at - self.signal.at if self.restored_at else None


@dataclass(frozen=True)
class Figures:
    since: dt.datetime
    until: dt.datetime
    releases: int
    per_day: float
    per_week: float
    changes: int  # changes with a recorded commit time, over which lead time is measured
    lead_time_median: dt.timedelta | None
    lead_time_p90: dt.timedelta | None
    failures: tuple[Failure, ...]
    time_to_restore_median: dt.timedelta | None

    @property
    def days(self) -> float:
        return (self.until - self.since) / DAY

    @property
    def change_failure_rate(self) -> float | None:
        """Percent of the window's releases that failed; None without releases."""
        return 100 * len(self.failures) / self.releases if self.releases else None

    @property
    def unrestored(self) -> int:
        return sum(1 for failure in self.failures if failure.restored_at is None)

    @property
    def bands(self) -> dict[str, str | None]:
        return {
            "deployment_frequency": frequency_band(self.per_day),
            "lead_time_for_changes": lead_time_band(self.lead_time_median),
            "change_failure_rate": failure_rate_band(self.change_failure_rate),
            "time_to_restore": restore_band(self.time_to_restore_median),
        }


def figures(history: History, since: dt.datetime, until: dt.datetime, failure_window: dt.timedelta) -> Figures:
    """The figures of the releases in (since, until]."""
    ordered = sorted(history.releases, key=lambda r: r.released_at)
    in_window = [r for r in ordered if since < r.released_at <= until]
    lead_times = sorted(r.released_at - t for r in in_window for t in r.committed if t <= r.released_at)
    failures = _failures(ordered, in_window, history.signals, failure_window, until)
    restores = sorted(f.time_to_restore for f in failures if f.time_to_restore is not None)
    days = (until - since) / DAY
    return Figures(
        since=since,
        until=until,
        releases=len(in_window),
        per_day=len(in_window) / days,
        per_week=len(in_window) / days * 7,
        changes=len(lead_times),
        lead_time_median=_median(lead_times),
        lead_time_p90=_percentile(lead_times, 90),
        failures=tuple(failures),
        time_to_restore_median=_median(restores),
    )


def _failures(
    ordered: list[ReleasedChanges], in_window: list[ReleasedChanges], signals, window: dt.timedelta, until: dt.datetime
) -> list[Failure]:
    """Each signal counts against the last release before it, if it came within the window; a
    release with several signals failed once, at the first."""
    first: dict[str, Signal] = {}
    for signal in sorted(signals, key=lambda s: s.at):
        release = _release_before(ordered, signal)
        if release is None or signal.at - release.released_at > window or release.version in first:
            continue
        first[release.version] = signal
    failed = []
    for release in in_window:
        signal = first.get(release.version)
        if signal is not None:
            failed.append(Failure(release.version, signal, _restored(ordered, signal, until)))
    return failed


def _release_before(ordered: list[ReleasedChanges], signal: Signal) -> ReleasedChanges | None:
    before = [r for r in ordered if r.released_at < signal.at]
    if signal.kind is SignalKind.NON_VIABLE:
        before = [r for r in before if r.head_sha == signal.base_sha]
    return before[-1] if before else None


def _restored(ordered: list[ReleasedChanges], signal: Signal, until: dt.datetime) -> dt.datetime | None:
    """The next release after the signal, or for a kill switch the flag back on, whichever is first."""
    moments = [r.released_at for r in ordered if signal.at < r.released_at <= until]
    if signal.restored_at is not None and signal.restored_at <= until:
        moments.append(signal.restored_at)
    return min(moments, default=None)


def _median(values: list[dt.timedelta]) -> dt.timedelta | None:
    return statistics.median(values) if values else None


def _percentile(values: list[dt.timedelta], percent: int) -> dt.timedelta | None:
    """Nearest rank: the smallest value with at least `percent` % of the values at or below it."""
    if not values:
        return None
    return values[max(0, math.ceil(percent / 100 * len(values)) - 1)]


# DORA's published bands (Accelerate State of DevOps Report 2024). A figure takes the best band
# whose published value it meets. That report's medium cluster had a lower failure rate (10%)
# than its high cluster (20%) and the same recovery time (less than one day), so a figure that
# meets medium's also meets high's: those two figures are never "medium".
BANDS = {
    "deployment_frequency": {
        "elite": "on demand, several a day", "high": "once a day to once a week",
        "medium": "once a week to once a month", "low": "once a month to once every six months",
    },
    "lead_time_for_changes": {
        "elite": "less than a day", "high": "a day to a week", "medium": "a week to a month", "low": "a month to six months",
    },
    "change_failure_rate": {"elite": "5%", "high": "20%", "medium": "10%", "low": "40%"},
    "time_to_restore": {"elite": "less than an hour", "high": "less than a day", "medium": "less than a day", "low": "a week to a month"},
}


def frequency_band(per_day: float) -> str:
    if per_day > 1:
        return "elite"
    if per_day * 7 >= 1:
        return "high"
    if per_day * 30 >= 1:
        return "medium"
    return "low"


def lead_time_band(median: dt.timedelta | None) -> str | None:
    if median is None:
        return None
    return "elite" if median < DAY else "high" if median <= WEEK else "medium" if median <= MONTH else "low"


def failure_rate_band(percent: float | None) -> str | None:
    if percent is None:
        return None
    return "elite" if percent <= 5 else "high" if percent <= 20 else "low"


def restore_band(median: dt.timedelta | None) -> str | None:
    if median is None:
        return None
    return "elite" if median < HOUR else "high" if median < DAY else "low"


def _hours(delta: dt.timedelta | None) -> float | None:
    return round(delta / HOUR, 2) if delta is not None else None


def figures_json(figures: Figures, failure_window: dt.timedelta) -> dict:
    """The figures as the API answers them and the digest carries them: value, unit and band each."""
    bands = figures.bands
    rate = figures.change_failure_rate
    return {
        "window": {"days": round(figures.days, 2), "since": figures.since.isoformat(), "until": figures.until.isoformat()},
        "deployment_frequency": {
            "value": round(figures.per_week, 2), "unit": "releases per week", "per_day": round(figures.per_day, 3),
            "releases": figures.releases, "band": bands["deployment_frequency"],
        },
        "lead_time_for_changes": {
            "median": _hours(figures.lead_time_median), "p90": _hours(figures.lead_time_p90), "unit": "hours",
            "changes": figures.changes, "band": bands["lead_time_for_changes"],
        },
        "change_failure_rate": {
            "value": round(rate, 2) if rate is not None else None, "unit": "percent", "failed": len(figures.failures),
            "releases": figures.releases, "failure_window_hours": _hours(failure_window),
            "failures": [{"release": f.release, "signal": f.signal.kind.value, "subject": f.signal.subject, "at": f.signal.at.isoformat()} for f in figures.failures],
            "band": bands["change_failure_rate"],
        },
        "time_to_restore": {
            "median": _hours(figures.time_to_restore_median), "unit": "hours",
            "restored": len(figures.failures) - figures.unrestored, "unrestored": figures.unrestored,
            "band": bands["time_to_restore"],
        },
        "bands_source": "Accelerate State of DevOps Report 2024",
    }
