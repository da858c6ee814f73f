"""Failures a test asks for: injected errors, seeded random 500s and Slack-style rate limits."""

import math
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class InjectedFailure:
    status: int
    retry_after: int
    error: Optional[str]


class TokenBucket:
    """Slack-style limiter: short bursts pass, then 429 with the seconds until the next slot.

    It runs on real (monotonic) time: it limits real requests, whatever the workspace clock says.
    """

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.capacity = max(1.0, per_second)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def retry_after(self) -> Optional[int]:
        """Take one slot and return None, or return the whole seconds to wait."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, math.ceil((1 - self.tokens) / self.per_second))


@dataclass
class RateLimit:
    per_second: float
    per_channel: bool
    buckets: dict = field(default_factory=dict)


class FailureInjection:
    """FakeSlack's failure controls; state (`_injected`, `_failure_rates`, `_rate_limits`) is reset by reset()."""

    def fail_next(
        self, method: str, count: int = 1, status: int = 429, retry_after: int = 1, error: Optional[str] = None
    ) -> None:
        """Make the next ``count`` calls fail: 429 + Retry-After, another HTTP status, or an API error.

        429 answers ``{"ok": false, "error": "ratelimited"}``; other statuses answer
        ``{"ok": false, "error": "internal_error"}``. With ``error`` the answer is HTTP 200
        ``{"ok": false, "error": error}`` whatever ``status`` is.
        """
        with self._lock:
            queue = self._injected.setdefault(method, deque())
            queue.extend(InjectedFailure(status, retry_after, error) for _ in range(count))

    def rate_limit(self, method: str, per_second: Optional[float], per_channel: bool = True) -> None:
        """Answer 429 with the right Retry-After once ``method`` exceeds ``per_second`` (None removes)."""
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive")
        with self._lock:
            if per_second is None:
                self._rate_limits.pop(method, None)
            else:
                self._rate_limits[method] = RateLimit(per_second, per_channel)

    def failure_rate(self, method: str, fraction: float, seed: int = 0) -> None:
        """Fail a reproducible, seeded-random ``fraction`` of ``method`` calls with HTTP 500."""
        with self._lock:
            self._failure_rates[method] = (fraction, random.Random(seed))

    def _forced_failure(self, method: str) -> Optional[tuple[int, dict, dict]]:
        """The answer an injected failure or the failure rate imposes on this call, if any."""
        injected = self._injected.get(method)
        if injected:
            failure = injected.popleft()
            if failure.error is not None:
                return 200, {"ok": False, "error": failure.error}, {}
            if failure.status == 429:
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(failure.retry_after)}
            return failure.status, {"ok": False, "error": "internal_error"}, {}
        fraction, rng = self._failure_rates.get(method, (0.0, None))
        if rng is not None and rng.random() < fraction:
            return 500, {"ok": False, "error": "internal_error"}, {}
        return None

    def _rate_limited(self, method: str, params: dict) -> Optional[int]:
        limit = self._rate_limits.get(method)
        if limit is None:
            return None
        key = params.get("channel") if limit.per_channel else None
        bucket = limit.buckets.setdefault(key, TokenBucket(limit.per_second))
        return bucket.retry_after()
