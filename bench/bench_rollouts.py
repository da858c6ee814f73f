"""Rollout benchmark: one round of the `rollouts` job over 500 running plans with two checks each,
against a fake Prometheus on 127.0.0.1 (tests/fake_prometheus.py, in its own process).

Round 1 is mid-bake: every plan's checks are due (one query per check per plan) and their results
stored. Round 2 follows the bake: checks again, then every plan starts its next stage (the flag's
definition written, recorded, the version bumped, the message update owed). Both are timed from
the job's start to its end, as the scheduler runs it.

    python -m bench.bench_rollouts [--plans 500] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time

import httpx

from bench.report import bench_database, print_summary
from bot.clock import FixedClock
from bot.config import Config
from bot.flags import service as flags
from bot.flags.model import FlagType
from bot.rollouts import service as plans
from bot.rollouts.job import rollouts_round
from bot.slack.fake import FakeSlack
from storage import Database
from tests.conftest import BASE_CONFIG, START, make_runtime

TARGET_SECONDS = 5.0
CHECKS = [
    {"name": "errors", "query": 'sum(rate(errors{flag="{flag}"}[5m]))', "max": 0.02, "on_fail": "rollback"},
    {"name": "latency", "query": 'p99_latency{flag="{flag}"}', "max": 0.5, "on_fail": "pause"},
]
STAGES = [{"name": "internal", "segments": ["internal"], "bake": "1h"}, {"name": "half", "percent": 50, "bake": "1h"}, {"name": "full", "percent": 100}]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--plans", type=int, default=500)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = bench_database(args.database_url, tmp)
        return asyncio.run(run(url, args.plans))


class Prometheus:
    """The fake in a child process; `queries()` asks it how many queries it answered."""

    def __init__(self, *values: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fake_prometheus", *values], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.url = self.process.stdout.readline().strip()

    def queries(self) -> int:
        return httpx.get(self.url + "/-/queries").json()["count"]

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(10)


async def run(url: str, count: int) -> int:
    prometheus = Prometheus("errors=0.001", "p99_latency=0.2")
    slack = FakeSlack()
    slack.start()
    db = Database(url)
    db.upgrade()
    settings = {
        **BASE_CONFIG,
        "flags": {
            **BASE_CONFIG["flags"], "prometheus_url": prometheus.url,
            "rollout_templates": {"auto": {"advance": "auto", "checks": CHECKS, "stages": STAGES}},
        },
    }
    clock = FixedClock(START)
    runtime = make_runtime(db, slack, Config.model_validate(settings), clock)
    try:
        for n in range(count):
            flags.create(db, runtime.config, f"bench.{n}", FlagType.RELEASE, "", "U0DANA", None, START)
            plans.create(db, runtime.config, f"bench.{n}", "auto", "production", "U0DANA", START)
        clock.advance(minutes=30)
        first, first_counts, first_queries = await timed_round(runtime, prometheus)
        clock.advance(minutes=31)
        second, second_counts, second_queries = await timed_round(runtime, prometheus)
    finally:
        db.dispose()
        slack.stop()
        prometheus.stop()
    print(f"{count} running plans, 2 checks each, {url.split(':')[0]}")
    print(f"  round mid-bake:    {first:.2f} s, {first_queries} queries, {first_counts}")
    print(f"  round after bake:  {second:.2f} s, {second_queries} queries, {second_counts}")
    return print_summary([
        (f"mid-bake round under {TARGET_SECONDS:.0f} s ({first:.2f} s)", first < TARGET_SECONDS),
        (f"advancing round under {TARGET_SECONDS:.0f} s ({second:.2f} s)", second < TARGET_SECONDS),
        (f"one query per check per plan ({first_queries} and {second_queries} for {2 * count})", first_queries == second_queries == 2 * count),
        (f"every plan advanced once ({second_counts['moved']})", second_counts["moved"] == count and first_counts["moved"] == 0),
    ])


async def timed_round(runtime, prometheus: Prometheus) -> tuple[float, dict, int]:
    before = prometheus.queries()
    started = time.perf_counter()
    counts = await rollouts_round(runtime)
    return time.perf_counter() - started, counts, prometheus.queries() - before


if __name__ == "__main__":
    sys.exit(main())
