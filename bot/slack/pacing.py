"""Pacing calls to a rate-limited Slack method, so a burst of work does not become a burst of 429s."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class Pacer:
    """A token bucket (as GCRA): `per_second` calls on average, up to `burst` at once; after a 429,
    nobody calls again before its Retry-After. Shared by every task and thread of a process."""

    def __init__(self, per_second: float, burst: int = 1, monotonic: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / per_second
        self.tolerance = (max(1, burst) - 1) * self.interval
        self._monotonic = monotonic
        self._due = 0.0  # when the bucket would be empty again (the theoretical arrival time)
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next slot; the seconds to wait before using it."""
        with self._lock:
            now = self._monotonic()
            due = max(self._due, now)
            self._due = due + self.interval
            return max(0.0, due - self.tolerance - now)

    def pause(self, seconds: float) -> None:
        """Slack said to wait: no slot starts before then."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._monotonic() + seconds)
            self._due = max(self._due, self._paused_until + self.tolerance)

    async def wait(self) -> None:
        """Until this caller's slot, and past any pause that began while it waited."""
        delay = self.reserve()
        while delay > 0:
            await asyncio.sleep(delay)
            delay = self._paused_until - self._monotonic()
