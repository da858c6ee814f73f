"""Time as the domain sees it: injected, so rules and tests never read the wall clock."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware (UTC)."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


class FixedClock:
    """A clock that moves only when told to; for tests and benchmarks."""

    def __init__(self, start: dt.datetime):
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware start")
        self._now = start

    def now(self) -> dt.datetime:
        return self._now

    def set(self, instant: dt.datetime) -> None:
        self._now = instant

    def advance(self, **delta: float) -> None:
        self._now += dt.timedelta(**delta)


class OffsetClock:
    """The wall clock plus an offset that only moves forward: the demo's movable clock, shared by
    the bot and the Slack emulator (message timestamps), so both always agree on the time."""

    def __init__(self, start: dt.datetime | None = None, *, wall: Clock | None = None):
        self._wall = wall or SystemClock()
        self.offset = (start - self._wall.now()) if start is not None else dt.timedelta(0)

    def now(self) -> dt.datetime:
        return self._wall.now() + self.offset

    def time(self) -> float:
        """now() as seconds since the epoch, the way time.time() answers."""
        return self.now().timestamp()

    def advance(self, **delta: float) -> None:
        step = dt.timedelta(**delta)
        if step < dt.timedelta(0):
            raise ValueError("an OffsetClock only moves forward")
        self.offset += step
