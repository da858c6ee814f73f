"""When production releases may happen: release hours, holidays and change freezes.

Monday to Thursday, 08:00 to 16:00 Eastern by default; never on a holiday of the configured
country nor on the working day before one ("no Friday deploys", "not before holidays"), and
never during a change freeze unless an exception is chosen.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from bot.config import WEEKDAYS, ReleaseHours

SEARCH_DAYS = 400
SEARCH_HORIZON = dt.timedelta(days=SEARCH_DAYS)


@dataclass(frozen=True)
class Freeze:
    id: int
    scope: str  # a product key, or "all"
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    created_by: str

    def covers(self, product: str, instant: dt.datetime) -> bool:
        return self.scope in ("all", product) and self.starts_at <= instant < self.ends_at


@dataclass(frozen=True)
class Verdict:
    open: bool
    reasons: tuple[str, ...]
    next_open: dt.datetime


@lru_cache(maxsize=64)
def _calendar(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=[year, year + 1])


class ReleaseWindow:
    def __init__(self, hours: ReleaseHours):
        self.hours = hours
        self.zone = ZoneInfo(hours.timezone)

    def holiday(self, day: dt.date) -> str | None:
        country = self.hours.holiday_country
        return _calendar(country, day.year).get(day) if country else None

    def day_problem(self, day: dt.date) -> str | None:
        """Why no release may happen on this local day, or None."""
        if WEEKDAYS[day.weekday()] not in self.hours.days:
            return f"no production releases on {day:%A}s"
        name = self.holiday(day)
        if name:
            return f"{day:%A %B %-d} is a holiday ({name})"
        following = self._next_working_day(day)
        name = self.holiday(following)
        if name:
            return f"{day:%A %B %-d} is the working day before a holiday ({name} on {following:%A})"
        return None

    def _next_working_day(self, day: dt.date) -> dt.date:
        following = day + dt.timedelta(days=1)
        while following.weekday() >= 5:
            following += dt.timedelta(days=1)
        return following

    def verdict(self, instant: dt.datetime, freezes: list[Freeze], product: str) -> Verdict:
        reasons = list(self._closed_because(instant))
        reasons += [f"change freeze until {self.describe(f.ends_at)}: {f.reason}" for f in freezes if f.covers(product, instant)]
        return Verdict(open=not reasons, reasons=tuple(reasons), next_open=self.next_opening(instant, freezes, product))

    def _closed_because(self, instant: dt.datetime) -> list[str]:
        local = instant.astimezone(self.zone)
        problem = self.day_problem(local.date())
        if problem:
            return [problem]
        if local.time() < self.hours.start or local.time() >= self.hours.end:
            return [f"outside release hours ({self.hours.start:%H:%M}-{self.hours.end:%H:%M} {local:%Z})"]
        return []

    def next_opening(self, instant: dt.datetime, freezes: list[Freeze], product: str) -> dt.datetime:
        """The first instant from `instant` on when a release may go out (itself when open now)."""
        candidate = instant
        for _ in range(SEARCH_DAYS * 2):
            candidate = self._next_hours_start(candidate)
            blocking = [f for f in freezes if f.covers(product, candidate)]
            if not blocking:
                return candidate
            candidate = max(f.ends_at for f in blocking)
            if candidate - instant > SEARCH_HORIZON:
                return candidate  # a freeze without a practical end (year 9999): no hours are searched that far
        raise ValueError("no release window within a year; check release_hours")

    def _next_hours_start(self, instant: dt.datetime) -> dt.datetime:
        local = instant.astimezone(self.zone)
        day = local.date()
        for _ in range(SEARCH_DAYS):
            if self.day_problem(day) is None:
                start = dt.datetime.combine(day, self.hours.start, self.zone)
                end = dt.datetime.combine(day, self.hours.end, self.zone)
                if instant < end:
                    return max(instant, start).astimezone(dt.timezone.utc)
            day += dt.timedelta(days=1)
        raise ValueError("no release day within a year; check release_hours")

    def describe(self, instant: dt.datetime, now: dt.datetime | None = None) -> str:
        """'Monday 08:00 EST' in the release hours' time zone; with the date when a week or more away,
        and the year when months away."""
        local = instant.astimezone(self.zone)
        if now is not None and instant - now >= dt.timedelta(days=180):
            return local.strftime("%A %B %-d %Y %H:%M %Z")
        if now is not None and instant - now >= dt.timedelta(days=6):
            return local.strftime("%A %B %-d %H:%M %Z")
        return local.strftime("%A %H:%M %Z")
