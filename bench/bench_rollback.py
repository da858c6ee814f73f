"""Rollback benchmark: how soon a check's breach reaches OFREP answers in every bot (issue 11:
"within 1 s of the check that saw the breach").

Two bots (each its own runtime, database engine and OFREP snapshot cache, served by uvicorn in a
thread of its own, as tests/harness.py runs the bot) share one database with a third runtime that
runs the `rollouts` job, as the scheduler would. Each round a fresh plan (advance auto, one check
with on_fail rollback) is walked to stage 2, a 50 % audience, with the fake Prometheus passing;
then the fake answers a breach, and the clock is set from the start of the job round, which
includes asking Prometheus, to the first OFREP answer on each bot that serves "off" to a
targeting key that was in at 50 % and is out at the 10 % of stage 1.

    python -m bench.bench_rollback [--rounds 20] [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time

import httpx

from bench.report import bench_database, print_summary
from bot.clock import FixedClock
from bot.config import Config
from bot.flags import service as flags
from bot.flags.evaluation import rule
from bot.flags.model import FlagType
from bot.rollouts import service as plans
from bot.rollouts.job import rollouts_round
from bot.slack.fake import FakeSlack
from storage import Database
from storage import flags as flags_store
from tests.conftest import API_TOKEN, BASE_CONFIG, START, make_runtime
from tests.fake_prometheus import FakePrometheus
from tests.harness import start_bot

TARGET_SECONDS = 1.0
ENVIRONMENT = "production"
CHECKS = [{"name": "errors", "query": 'sum(rate(errors{flag="{flag}"}[5m]))', "max": 0.02, "on_fail": "rollback"}]
STAGES = [
    {"name": "internal", "segments": ["internal"], "percent": 0, "bake": "1h"},
    {"name": "tenth", "percent": 10, "bake": "1h"},
    {"name": "half", "percent": 50, "bake": "1h"},
    {"name": "full", "percent": 100},
]
# any hour of any day, so that 20 rounds of stage walks never wait for a release window
HOURS = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "23:59", "holidays": "none"}
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = bench_database(args.database_url, tmp)
        return asyncio.run(run(url, args.rounds))


async def run(url: str, rounds: int) -> int:
    prometheus = FakePrometheus().start()
    slack = FakeSlack()
    slack.start()
    settings = {
        **BASE_CONFIG,
        "release_hours": HOURS,
        "flags": {
            **BASE_CONFIG["flags"], "prometheus_url": prometheus.url,
            "rollout_templates": {"guarded": {"advance": "auto", "checks": CHECKS, "stages": STAGES}},
        },
    }
    config = Config.model_validate(settings)
    clock = FixedClock(START)
    databases = [Database(url) for _ in range(3)]
    databases[0].upgrade()
    runner = make_runtime(databases[0], slack, config, clock)
    bots = [start_bot(make_runtime(db, slack, config, FixedClock(START))) for db in databases[1:]]
    seen: list[list[float]] = [[] for _ in bots]
    committed: list[float] = []
    try:
        async with httpx.AsyncClient(headers=AUTH) as http:
            for n in range(rounds):
                key, targeting_key = await staged(runner, prometheus, f"bench.rb.{n}")
                paths = [f"{bot.url}/envs/{ENVIRONMENT}/ofrep/v1/evaluate/flags/{key}" for bot in bots]
                body = {"context": {"targetingKey": targeting_key}}
                for path in paths:  # every bot serves stage 2 before the breach
                    await until_value(http, path, body, True, deadline=time.perf_counter() + 10)
                prometheus.set("errors", 0.5)
                clock.advance(minutes=1)  # the check is due again
                started = time.perf_counter()

                async def job() -> dict:
                    counts = await rollouts_round(runner)
                    committed.append(time.perf_counter() - started)
                    return counts

                counts, *reached = await asyncio.gather(
                    job(), *(until_value(http, path, body, False, deadline=started + 30) for path in paths)
                )
                if counts["moved"] != 1:
                    raise SystemExit(f"round {n}: the breach did not roll the plan back ({counts})")
                for figures, at in zip(seen, reached):
                    figures.append(at - started)
    finally:
        for bot in bots:
            bot.stop()
        for db in databases:
            db.dispose()
        slack.stop()
        prometheus.stop()
    print(f"Rollback, {rounds} rounds, 2 bots on one {url.split(':')[0]} database: job round start -> first OFREP answer off")
    print(f"  job round (check, rollback committed): median {ms(statistics.median(committed))}, max {ms(max(committed))}")
    for i, figures in enumerate(seen, 1):
        print(f"  bot {i}: median {ms(statistics.median(figures))}, max {ms(max(figures))}")
    worst = max(max(figures) for figures in seen)
    return print_summary([
        (f"rollback visible in every process within {TARGET_SECONDS:.0f} s (max {ms(worst)})", worst < TARGET_SECONDS),
    ])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def staged(runner, prometheus: FakePrometheus, key: str) -> tuple[str, str]:
    """A fresh plan at stage 2 (50 %) with passing checks, and a targeting key in at 50 % but out at 10 %."""
    prometheus.set("errors", 0.001)
    runner.clock.advance(minutes=1)
    flags.create(runner.db, runner.config, key, FlagType.RELEASE, "", "U0DANA", None, runner.clock.now())
    plans.create(runner.db, runner.config, key, "guarded", ENVIRONMENT, "U0DANA", runner.clock.now())
    await rollouts_round(runner)  # stage 0
    definitions = {}
    for stage in (1, 2):
        runner.clock.advance(hours=1, minutes=1)
        await rollouts_round(runner)
        with runner.db.reading() as session:
            definitions[stage] = flags_store.get(session, key).definition(ENVIRONMENT)
    segments = runner.config.flags.segments
    tenth, half = (rule(key, definitions[s], segments) for s in (1, 2))
    for i in range(1000):
        context = {"targetingKey": f"user-{i}"}
        if half(context).value is True and tenth(context).value is False:
            return key, context["targetingKey"]
    raise SystemExit(f"{key}: stage 2 did not start ({definitions[2]})")


async def until_value(http: httpx.AsyncClient, path: str, body: dict, value: bool, *, deadline: float) -> float:
    """Ask until the answer is `value`; the moment it came."""
    while True:
        answer = (await http.post(path, json=body)).json()
        if answer.get("value") is value:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise SystemExit(f"{path} still answers {answer}")


if __name__ == "__main__":
    sys.exit(main())
