"""Rollout metric checks against a fake Prometheus that answers /api/v1/query as Prometheus does:
what passes, what breaches, and that no data, NaN, several series or an error never pass."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from bot.rollouts.checks import CheckResult, render_query, run_checks

ERROR_RATE = 'sum(rate(http_requests_total{flag="{flag}",env="{env}",code=~"5.."}[1m])) / sum(rate(http_requests_total{flag="{flag}",env="{env}"}[1m]))'
NOW = 1_790_000_000.5


@dataclass(frozen=True)
class Check:
    name: str
    query: str
    max: float | None = None
    min: float | None = None


def vector(*values: str, labels: tuple[dict, ...] = ()) -> dict:
    series = [{"metric": labels[i] if i < len(labels) else {}, "value": [NOW, value]} for i, value in enumerate(values)]
    return {"status": "success", "data": {"resultType": "vector", "result": series}}


class FakePrometheus:
    """Answers each query with what `answers` holds for it (an empty vector when nothing); holds every
    answer until `hold_until` queries have arrived, which only concurrent queries can reach."""

    def __init__(self):
        self.answers: dict[str, tuple[int, object]] = {}
        self.received: list[str] = []
        self.hold_until = 0
        self.arrived = asyncio.Event()
        self.hang = asyncio.Event()  # set only at shutdown: a query answered "hang" is never answered

    async def handle(self, request: web.Request) -> web.Response:
        query = request.query["query"]
        self.received.append(query)
        if len(self.received) >= self.hold_until:
            self.arrived.set()
        await self.arrived.wait()
        status, body = self.answers.get(query, (200, vector()))
        if body == "hang":
            await self.hang.wait()
        if isinstance(body, str):
            return web.Response(status=status, text=body)
        return web.json_response(body, status=status)


@contextlib.asynccontextmanager
async def fake_prometheus():
    fake = FakePrometheus()
    app = web.Application()
    app.router.add_get("/api/v1/query", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        yield fake, f"http://127.0.0.1:{port}/"
    finally:
        fake.hang.set()  # lets a held handler finish, so the server stops at once
        await runner.cleanup()


def check_one(answer: tuple[int, object], check: Check | None = None, timeout: float = 5.0) -> CheckResult:
    check = check or Check("error rate", ERROR_RATE, max=0.02)

    async def scenario():
        async with fake_prometheus() as (fake, url):
            fake.answers[render_query(check.query, "new-checkout", "production")] = answer
            return await run_checks(url, [check], "new-checkout", "production", timeout=timeout)

    [result] = asyncio.run(scenario())
    return result


def test_a_value_within_the_maximum_passes():
    assert check_one((200, vector("0.001"))) == CheckResult("error rate", 0.001, True, False, "0.001 is within the maximum 0.02")


def test_a_value_at_the_maximum_passes():
    assert check_one((200, vector("0.02"))).passed


def test_a_value_above_the_maximum_is_a_breach():
    assert check_one((200, vector("0.031"))) == CheckResult("error rate", 0.031, False, True, "0.031 is above the maximum 0.02")


def test_a_value_below_the_minimum_is_a_breach():
    result = check_one((200, vector("0.95")), Check("success", "avg(up)", min=0.99))
    assert (result.passed, result.breach, result.reason) == (False, True, "0.95 is below the minimum 0.99")


def test_both_bounds_are_named_when_the_value_is_within_them():
    result = check_one((200, vector("250")), Check("p99 ms", "max(latency)", max=300, min=1))
    assert (result.passed, result.reason) == (True, "250 is within the maximum 300 and the minimum 1")


def test_a_value_just_above_the_maximum_is_told_apart_from_it():
    result = check_one((200, vector("0.0200000001")))
    assert result.breach and result.reason == "0.0200000001 is above the maximum 0.02"


def test_no_data_never_passes():
    assert check_one((200, vector())) == CheckResult("error rate", None, False, False, "no data")


@pytest.mark.parametrize("value", ["NaN", "+Inf", "-Inf"])
def test_a_value_that_is_not_a_number_never_passes_nor_breaches(value):
    result = check_one((200, vector(value)))
    assert (result.value, result.passed, result.breach) == (None, False, False)
    assert result.reason.startswith(f"the value is {value}")


def test_several_series_are_ambiguous_and_named():
    answer = vector("0.001", "0.5", labels=({"instance": "a:9100"}, {"instance": "b:9100"}))
    result = check_one((200, answer))
    assert (result.passed, result.breach) == (False, False)
    assert result.reason.startswith('ambiguous: the query gives 2 series ({instance="a:9100"}, {instance="b:9100"})')


@pytest.mark.parametrize(
    "status, error",
    [
        (400, {"status": "error", "errorType": "bad_data", "error": 'invalid parameter "query": 1:5: parse error'}),
        (422, {"status": "error", "errorType": "execution", "error": "expanding series: too many samples"}),
        (503, {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}),
    ],
)
def test_an_error_from_prometheus_never_passes(status, error):
    result = check_one((status, error))
    assert (result.value, result.passed, result.breach) == (None, False, False)
    assert result.reason == f"Prometheus answered {status}: {error['error']}"


def test_an_error_status_in_a_200_answer_never_passes():
    result = check_one((200, {"status": "error", "errorType": "internal", "error": "oops"}))
    assert (result.passed, result.breach, result.reason) == (False, False, "Prometheus answered 200: oops")


def test_a_proxy_error_page_never_passes():
    result = check_one((502, "<html>Bad Gateway</html>"))
    assert (result.passed, result.breach) == (False, False)
    assert result.reason == "Prometheus answered 502 with something that is not its JSON"


@pytest.mark.parametrize(
    "data, kind",
    [
        ({"resultType": "scalar", "result": [NOW, "0.001"]}, "scalar"),
        ({"resultType": "string", "result": [NOW, "ok"]}, "string"),
        ({"resultType": "matrix", "result": [{"metric": {}, "values": [[NOW, "0.001"]]}]}, "matrix"),
    ],
)
def test_a_result_that_is_not_an_instant_vector_never_passes(data, kind):
    result = check_one((200, {"status": "success", "data": data}))
    assert (result.passed, result.breach) == (False, False)
    assert result.reason == f"the query gives a {kind} result, not an instant vector"


def test_a_malformed_sample_never_passes():
    answer = {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [NOW]}]}}
    assert check_one((200, answer)).reason == "the query gives a malformed sample"


def test_a_slow_prometheus_times_out_and_never_passes():
    result = check_one((200, "hang"), timeout=0.2)
    assert (result.passed, result.breach, result.reason) == (False, False, "Prometheus did not answer within 0.2 s")


def test_a_refused_connection_never_passes():
    with socket.socket() as bound:  # bound, never listening: connections to it are refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}"
        [result] = asyncio.run(run_checks(url, [Check("error rate", ERROR_RATE, max=0.02)], "f", "e"))
    assert (result.passed, result.breach) == (False, False)
    assert result.reason.startswith("Prometheus could not be reached (")


def test_flag_and_env_are_substituted_and_escaped_inside_label_matchers():
    assert render_query(ERROR_RATE, "new-checkout", "production") == (
        'sum(rate(http_requests_total{flag="new-checkout",env="production",code=~"5.."}[1m]))'
        ' / sum(rate(http_requests_total{flag="new-checkout",env="production"}[1m]))'
    )
    assert render_query('up{flag="{flag}",env="{env}"}', 'a"}or vector(1)#', "b\\") == (
        'up{flag="a\\"}or vector(1)#",env="b\\\\"}'
    )


def test_the_substituted_query_reaches_prometheus_verbatim():
    query = 'sum(rate(x{flag="{flag}"}[1m])) + 0 / 1'

    async def scenario():
        async with fake_prometheus() as (fake, url):
            await run_checks(url, [Check("plus", query, max=1)], 'we"ird', "production")
            return fake.received

    assert asyncio.run(scenario()) == ['sum(rate(x{flag="we\\"ird"}[1m])) + 0 / 1']


def test_each_check_is_one_query_and_the_queries_run_at_once():
    checks = [
        Check("error rate", ERROR_RATE, max=0.02),
        Check("p99", 'histogram_quantile(0.99, sum by (le) (rate(latency_bucket{flag="{flag}"}[1m])))', max=0.3),
        Check("traffic", 'sum(rate(http_requests_total{flag="{flag}"}[1m]))', min=1),
    ]

    async def scenario():
        async with fake_prometheus() as (fake, url):
            fake.hold_until = len(checks)  # answered only once all three are waiting at the same time
            for check, value in zip(checks, ("0.5", "0.1", "40")):
                fake.answers[render_query(check.query, "new-checkout", "production")] = (200, vector(value))
            async with aiohttp.ClientSession() as session:
                results = await run_checks(url, checks, "new-checkout", "production", session=session, timeout=5)
                assert not session.closed  # a caller's session is the caller's to close
            return fake.received, results

    received, results = asyncio.run(scenario())
    assert sorted(received) == sorted(render_query(check.query, "new-checkout", "production") for check in checks)
    assert [(r.name, r.value, r.passed, r.breach) for r in results] == [
        ("error rate", 0.5, False, True),
        ("p99", 0.1, True, False),
        ("traffic", 40.0, True, False),
    ]


def test_no_checks_ask_nothing():
    assert asyncio.run(run_checks("http://127.0.0.1:1", [], "f", "e")) == []
