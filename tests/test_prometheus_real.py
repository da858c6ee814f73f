"""Rollout metric checks against a real Prometheus scraping an exporter the test drives: a low error
rate passes, a raised one is a breach within seconds, and no traffic (0/0, NaN) never passes."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

from bot.rollouts.checks import CheckResult, run_checks
from tests.prometheus_server import prometheus  # noqa: F401  (the fixture)

# rate() over 5 s holds about five 1 s scrapes: enough for two samples, short enough to move fast.
ERROR_RATE = (
    'sum(rate(http_requests_total{flag="{flag}",env="{env}",code=~"5.."}[5s]))'
    ' / sum(rate(http_requests_total{flag="{flag}",env="{env}"}[5s]))'
)
DEADLINE = 30.0  # seconds for a change of traffic to show in the check


@dataclass(frozen=True)
class Check:
    name: str
    query: str
    max: float | None = None
    min: float | None = None


CHECKS = [Check("error rate", ERROR_RATE, max=0.02)]


def check_until(server, condition) -> CheckResult:
    """Runs the check until `condition(result)` holds (Prometheus scrapes every second), then returns it."""
    seen: list[CheckResult] = []

    def holds() -> bool:
        [result] = asyncio.run(run_checks(server.url, CHECKS, "new-checkout", "production", timeout=5))
        seen.append(result)
        return condition(result)

    server.wait_until(holds, "check result as expected", deadline=DEADLINE)
    return seen[-1]


def test_a_rising_error_rate_turns_a_passing_check_into_a_breach(prometheus):  # noqa: F811
    # No traffic yet: 0 / 0 is NaN, which is not a measurement.
    idle = check_until(prometheus, lambda result: result.reason.startswith("the value is NaN"))
    assert (idle.passed, idle.breach, idle.value) == (False, False, None)

    prometheus.exporter.traffic(ok=99, errors=1)
    healthy = check_until(prometheus, lambda result: result.value is not None)
    assert healthy.passed and not healthy.breach
    assert math.isclose(healthy.value, 0.01, rel_tol=1e-6)
    assert healthy.reason == "0.01 is within the maximum 0.02"

    prometheus.exporter.traffic(ok=80, errors=20)
    failing = check_until(prometheus, lambda result: result.value is not None and result.value > 0.02)
    assert failing.breach and not failing.passed
    assert failing.reason.endswith("is above the maximum 0.02")


def test_a_rejected_query_and_several_series_are_no_pass(prometheus):  # noqa: F811
    broken = Check("broken", 'sum(rate(http_requests_total{flag="{flag}"}[5s])', max=1)
    by_code = Check("by code", 'http_requests_total{flag="{flag}",env="{env}"}', max=1e9)
    rejected, ambiguous = asyncio.run(run_checks(prometheus.url, [broken, by_code], "new-checkout", "production"))
    assert (rejected.passed, rejected.breach, ambiguous.passed, ambiguous.breach) == (False, False, False, False)
    assert rejected.reason.startswith("Prometheus answered 400: ")
    assert ambiguous.reason.startswith("ambiguous: the query gives 2 series")
