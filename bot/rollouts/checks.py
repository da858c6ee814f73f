"""Metric checks of a rollout plan's step: one PromQL instant query per check against Prometheus.

A check passes only when exactly one finite value was read and it is within the check's bounds; a
breach is a value that broke them (the template's `on_fail` applies). Anything else (no data, NaN,
several series, an error or an unreachable Prometheus) is neither: the plan must not advance on
it, and must not roll back on it either, because nothing was measured.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence

import aiohttp

from bot.rollouts.plan import CheckResult  # the plan's own record of a result: pure, no I/O

UNREACHABLE = (aiohttp.ClientError, OSError)
MOST_SERIES_NAMED = 3  # an ambiguous answer names this many of its series
LONGEST_ERROR = 200  # characters of Prometheus' own error message quoted in a reason


__all__ = ["CheckResult", "render_query", "run_checks"]


def promql_string(text: str) -> str:
    """`text` made safe inside a PromQL double-quoted string (a label matcher's value)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_query(query: str, flag: str, env: str) -> str:
    """The check's query with `{flag}` and `{env}` filled in. Not str.format: PromQL has its own braces."""
    return query.replace("{flag}", promql_string(flag)).replace("{env}", promql_string(env))


async def run_checks(
    prometheus_url: str | None,
    checks: Sequence,
    flag: str,
    env: str,
    *,
    session: aiohttp.ClientSession | None = None,
    timeout: float = 5.0,
) -> list[CheckResult]:
    """Every check's result, in the order of `checks`; the queries run at the same time."""
    if not checks:
        return []
    if not prometheus_url:
        return [CheckResult(check.name, None, False, False, "no flags.prometheus_url is configured") for check in checks]
    endpoint = prometheus_url.rstrip("/") + "/api/v1/query"
    own_session = session is None
    session = session or aiohttp.ClientSession()
    try:
        return list(
            await asyncio.gather(
                *(_run_check(session, endpoint, check, render_query(check.query, flag, env), timeout) for check in checks)
            )
        )
    finally:
        if own_session:
            await session.close()


async def _run_check(session: aiohttp.ClientSession, endpoint: str, check, query: str, timeout: float) -> CheckResult:
    try:
        async with asyncio.timeout(timeout):
            async with session.get(endpoint, params={"query": query}) as response:
                status = response.status
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    answer = None
    except TimeoutError:
        return _unread(check, f"Prometheus did not answer within {_number(timeout)} s")
    except UNREACHABLE as exc:
        return _unread(check, f"Prometheus could not be reached ({type(exc).__name__}: {exc})")
    if not isinstance(answer, dict):
        return _unread(check, f"Prometheus answered {status} with something that is not its JSON")
    if status >= 400 or answer.get("status") != "success":
        error = str(answer.get("error") or answer.get("errorType") or "no error message")[:LONGEST_ERROR]
        return _unread(check, f"Prometheus answered {status}: {error}")
    return _judge(check, answer.get("data"))


def _judge(check, data) -> CheckResult:
    """The check's result from a successful answer's `data`: one series of a vector, judged by the bounds."""
    kind = data.get("resultType") if isinstance(data, dict) else None
    if kind != "vector":
        return _unread(check, f"the query gives a {kind or 'malformed'} result, not an instant vector")
    series = data.get("result")
    if not isinstance(series, list):
        return _unread(check, "the query gives a malformed vector")
    if not series:
        return _unread(check, "no data")
    if len(series) > 1:
        named = ", ".join(_labels(one) for one in series[:MOST_SERIES_NAMED])
        more = ", ..." if len(series) > MOST_SERIES_NAMED else ""
        return _unread(check, f"ambiguous: the query gives {len(series)} series ({named}{more}), not one; aggregate it (sum, max)")
    try:
        value = float(series[0]["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return _unread(check, "the query gives a malformed sample")
    if not math.isfinite(value):
        return _unread(check, f"the value is {series[0]['value'][1]} (nothing measured, e.g. no traffic)")
    return _bounded(check, value)


def _bounded(check, value: float) -> CheckResult:
    if check.max is not None and value > check.max:
        shown, bound = _pair(value, check.max)
        return CheckResult(check.name, value, False, True, f"{shown} is above the maximum {bound}")
    if check.min is not None and value < check.min:
        shown, bound = _pair(value, check.min)
        return CheckResult(check.name, value, False, True, f"{shown} is below the minimum {bound}")
    bounds = [f"{word} {_number(bound)}" for word, bound in (("maximum", check.max), ("minimum", check.min)) if bound is not None]
    within = f" is within the {' and the '.join(bounds)}" if bounds else " (the check has no bounds)"
    return CheckResult(check.name, value, True, False, _number(value) + within)


def _unread(check, reason: str) -> CheckResult:
    return CheckResult(check.name, None, False, False, reason)


def _labels(series) -> str:
    metric = series.get("metric") if isinstance(series, dict) else None
    if not isinstance(metric, dict) or not metric:
        return "{}"
    return "{" + ",".join(f'{key}="{value}"' for key, value in sorted(metric.items())) + "}"


def _number(value: float) -> str:
    return f"{value:.6g}"


def _pair(value: float, bound: float) -> tuple[str, str]:
    """Both numbers in words that tell them apart (0.0200001 above 0.02 must not read "0.02 above 0.02")."""
    shown = _number(value), _number(bound)
    return shown if shown[0] != shown[1] else (repr(float(value)), repr(float(bound)))
