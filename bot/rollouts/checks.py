"""Rollout checks: PromQL instant queries against Prometheus' HTTP API, one query per check.

A value beyond `max`/`min` is a breach (the plan applies the check's on_fail); no answer (no
series, an error, Prometheus unreachable) is not a pass either: the plan pauses and says why.
"""

from __future__ import annotations

import asyncio
import math

import aiohttp

from bot.rollouts.plan import Check, CheckResult

TIMEOUT = aiohttp.ClientTimeout(total=10)

__all__ = ["CheckResult", "run_checks", "query_of"]


def query_of(check: Check, flag: str, env: str) -> str:
    """`{flag}` and `{env}` replaced; any other braces (PromQL label matchers) stay."""
    return check.query.replace("{flag}", flag).replace("{env}", env)


async def run_checks(prometheus_url: str | None, checks, flag: str, env: str) -> list[CheckResult]:
    """Every check's result, the queries sent at once."""
    checks = [c if isinstance(c, Check) else Check(c.name, c.query, c.max, c.min, c.on_fail) for c in checks]
    if not checks:
        return []
    if not prometheus_url:
        return [CheckResult(c.name, None, False, False, "no flags.prometheus_url is configured") for c in checks]
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        return list(await asyncio.gather(*(_one(session, prometheus_url, c, flag, env) for c in checks)))


async def _one(session: aiohttp.ClientSession, url: str, check: Check, flag: str, env: str) -> CheckResult:
    try:
        async with session.get(f"{url}/api/v1/query", params={"query": query_of(check, flag, env)}) as response:
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return CheckResult(check.name, None, False, False, f"Prometheus did not answer ({type(exc).__name__})")
    if not isinstance(body, dict) or body.get("status") != "success":
        error = body.get("error") if isinstance(body, dict) else None
        return CheckResult(check.name, None, False, False, f"Prometheus refused the query: {str(error or 'no reason')[:200]}")
    value = _value(body.get("data") or {})
    if value is None or math.isnan(value):
        return CheckResult(check.name, None, False, False, "no data")
    if check.max is not None and value > check.max:
        return CheckResult(check.name, value, False, True, f"{value:g} is above the maximum {check.max:g}")
    if check.min is not None and value < check.min:
        return CheckResult(check.name, value, False, True, f"{value:g} is below the minimum {check.min:g}")
    return CheckResult(check.name, value, True, False, "ok")


def _value(data: dict) -> float | None:
    """The value of a one-element vector, or of a scalar; None for anything else."""
    try:
        if data.get("resultType") == "scalar":
            return float(data["result"][1])
        result = data.get("result")
        if data.get("resultType") == "vector" and isinstance(result, list) and len(result) == 1:
            return float(result[0]["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return None
