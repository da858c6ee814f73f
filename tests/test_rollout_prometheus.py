"""A rollout plan against a real Prometheus: a rising error rate rolls the plan back to the
previous stage's audience, as the rollout procedure asks, with nothing faked but Slack."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import Config
from bot.rollouts.checks import run_checks
from bot.rollouts.plan import Check
from tests.conftest import BASE_CONFIG, SIGNING_SECRET, make_runtime
from tests.harness import start_bot
from tests.prometheus_server import running_prometheus
from tests.test_candidates import Rig
from tests.test_prometheus_real import ERROR_RATE
from tests.test_rollouts import api, definition, flag, job
from bot.slack.fake import SlackDriver

FLAG = "new-checkout"  # the exporter's flag label
STAGES = [
    {"name": "internal", "segments": ["internal"], "percent": 0, "bake": "1h"},
    {"name": "gradual", "percent": 25, "bake": "1h"},
    {"name": "full", "percent": 100},
]


@pytest.fixture
def real(tmp_path, db, fake_slack, clock):
    with running_prometheus(tmp_path) as prometheus:
        flags = {
            **BASE_CONFIG["flags"],
            "prometheus_url": prometheus.url,
            "rollout_templates": {
                "guarded": {
                    "advance": "auto",
                    "checks": [{"name": "error rate", "query": ERROR_RATE, "max": 0.02, "on_fail": "rollback"}],
                    "stages": STAGES,
                },
            },
        }
        runtime = make_runtime(db, fake_slack, Config.model_validate({**BASE_CONFIG, "flags": flags}), clock)
        running = start_bot(runtime)
        driver = SlackDriver(running.events_url, SIGNING_SECRET, fake_slack)
        try:
            yield Rig(running, driver, fake_slack, None), prometheus
        finally:
            driver.close()
            running.stop()


def until_prometheus_shows(prometheus, condition) -> None:
    """Prometheus scrapes each second; polls the check itself until its answer is the one wanted."""
    check = Check("error rate", ERROR_RATE, 0.02, None, "rollback")
    prometheus.wait_until(
        lambda: condition(asyncio.run(run_checks(prometheus.url, [check], FLAG, "production"))[0]), "the check's answer", 30
    )


def test_a_rising_error_rate_rolls_a_plan_back_to_the_previous_stage(real, clock):
    rig, prometheus = real
    prometheus.exporter.traffic(ok=99, errors=1)
    until_prometheus_shows(prometheus, lambda result: result.passed)
    flag(rig, f"create {FLAG}", "U0DANA")
    flag(rig, f"plan {FLAG} guarded production", "U0DANA")
    job(rig)
    assert (api(rig, FLAG)[0]["state"], api(rig, FLAG)[0]["stage"]) == ("baking", "internal")
    clock.advance(hours=1)
    job(rig)  # the bake is over and the real check passes: the next stage starts
    assert api(rig, FLAG)[0]["stage"] == "gradual"
    assert definition(rig, FLAG)["targeting"] == {"if": [{"$ref": "internal"}, "on", {"fractional": [["on", 25], ["off", 75]]}]}

    prometheus.exporter.traffic(ok=80, errors=20)
    until_prometheus_shows(prometheus, lambda result: result.breach)
    clock.advance(minutes=1)
    job(rig)
    [plan] = api(rig, FLAG)
    assert (plan["state"], plan["stage"]) == ("rolled_back", "internal")
    assert definition(rig, FLAG)["targeting"] == {"if": [{"$ref": "internal"}, "on", "off"]}
