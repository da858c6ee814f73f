"""Feature-flag benchmarks: OFREP over HTTP against one `releasebot serve` process, our evaluator
against flagd's Python evaluator, and how soon a kill switch reaches the endpoint.

Applications ask for a flag on their own request path, so a single-flag OFREP evaluation is timed
as an application sees it: a separate load process keeps connections busy against `releasebot
serve` (its own process, SQLite, a config file, Slack faked on 127.0.0.1) and records every round
trip. The flag it asks for is the segment `internal` (an `ends_with` on the email), three named
keys, then a 37% `fractional` split of everyone else: each answer runs flagd's JsonLogic.

    python -m bench.bench_flags [--seconds 10] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import queue
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext

import storage.flags as store
from bench.report import print_summary
from bot.flags import definitions
from bot.flags.evaluation import evaluate, flagd_document
from bot.flags.model import Flag, FlagType
from bot.flags.snapshots import Snapshots
from storage import Database
from tests.conftest import START
from tests.harness import free_port
from bot.slack.fake import FakeSlack

ENVIRONMENT = "production"
FLAGS = 200
ROLLOUT_FLAG = "bench.rollout"
KILL_FLAG = "bench.kill"
API_TOKEN = "bench-api-token"
AUTH = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}
SINGLE_PATH = f"/envs/{ENVIRONMENT}/ofrep/v1/evaluate/flags/{ROLLOUT_FLAG}"
BULK_PATH = f"/envs/{ENVIRONMENT}/ofrep/v1/evaluate/flags"
USERS = 5000

THROUGHPUT_TARGET = 5000.0  # requests/s, at 16 connections
P99_TARGET_MS = 10.0
SEGMENTS = {"internal": {"ends_with": [{"var": "email"}, "@example.com"]}}
BULK_TARGET_MS = 10.0
BULK_REQUESTS = 300
KILL_ROUNDS = 20


def FlagState(enabled: bool = False, rollout: int = 100, targets: tuple = (), segments: tuple = ()) -> dict:  # noqa: N802
    """The definition the /flag edits leave for an on/off flag with a rollout, keys and segments."""
    definition = definitions.initial(None)
    if enabled:
        definition = definitions.apply(definition, {"op": "rollout", "percent": rollout})
    if targets or segments:
        definition = definitions.apply(definition, {"op": "target", "mode": "add", "keys": list(targets), "segments": list(segments)})
    return definition


def flag_states(count: int) -> dict[str, dict]:
    """A mix like a real flag list: off, on, rollouts, named targets, segments; always the two bench flags."""
    rng = random.Random(11)
    states = {
        ROLLOUT_FLAG: FlagState(enabled=True, rollout=37, targets=("user-1", "user-2", "user-3"), segments=("internal",)),
        KILL_FLAG: FlagState(enabled=True),
    }
    while len(states) < count:
        targets = tuple(f"user-{rng.randrange(USERS)}" for _ in range(rng.choice((0, 0, 2, 10))))
        rollout = rng.choice((0, 100, rng.randint(1, 99)))
        segments = ("internal",) if rng.random() < 0.2 else ()
        states[f"team{len(states) % 7}.feature-{len(states):03d}"] = FlagState(rng.random() < 0.8, rollout, targets, segments)
    return states


def seed(db: Database) -> None:
    with db.transaction() as session:
        for key, state in flag_states(FLAGS).items():
            flag = Flag(key=key, type=FlagType.RELEASE, description="", owner="U0BENCH", created_by="U0BENCH", created_at=START)
            store.create(session, flag)
            store.set_definition(session, key, ENVIRONMENT, state, "U0BENCH", START)
        store.bump_version(session)


def turn(db: Database, key: str, state: dict) -> None:
    """A committed change as the /flag service makes it: the state, then the shared version."""
    with db.transaction() as session:
        store.set_definition(session, key, ENVIRONMENT, state, "U0BENCH", START)
        store.bump_version(session)


@contextlib.contextmanager
def releasebot_serve(workdir: Path, database_url: str) -> Iterator[Server]:
    """`releasebot serve` in its own process, once /healthz answers."""
    fake = FakeSlack().start()
    config = workdir / "releasebot.yml"
    config.write_text(
        f"flags:\n  environments: [staging, {ENVIRONMENT}]\n  default_environment: staging\n"
        f"  segments:\n    internal: {json.dumps(SEGMENTS['internal'])}\n"
    )
    port = free_port()
    executable = shutil.which("releasebot", path=str(Path(sys.executable).parent))
    if executable is None:
        raise SystemExit("the releasebot command is not installed in this virtualenv (pip install -e .)")
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": fake.bot_token,
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
        "RELEASEBOT_CONFIG": str(config),
        "RELEASEBOT_API_TOKEN": API_TOKEN,
    }
    log = workdir / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [executable, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise SystemExit(f"releasebot serve exited with {process.returncode}:\n{log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("releasebot serve did not answer /healthz in 30 s")
            time.sleep(0.05)
        yield Server(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=15)
        fake.stop()


@dataclass
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- the load process


@dataclass
class Load:
    seconds: float
    latencies_ms: list[float]
    statuses: Counter[int]

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds


def run_load(url: str, seconds: float, connections: int, results) -> None:
    """Entry point of the load process: POSTs from `connections` keep-alive connections."""
    results.put(asyncio.run(_load(url, seconds, connections)))


async def _load(url: str, seconds: float, connections: int) -> Load:
    bodies = [
        json.dumps({"context": {"targetingKey": f"user-{i}", "plan": "pro", "email": f"user-{i}@{'example.com' if i % 10 == 0 else 'mail.org'}"}}).encode()
        for i in range(USERS)
    ]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers=AUTH) as session:
        start = time.perf_counter()
        deadline = start + seconds

        async def worker(offset: int) -> None:
            i = offset
            while (sent := time.perf_counter()) < deadline:
                async with session.post(url + SINGLE_PATH, data=bodies[i % USERS]) as response:
                    await response.read()
                    statuses[response.status] += 1
                latencies.append((time.perf_counter() - sent) * 1000)
                i += connections

        await asyncio.gather(*(worker(i) for i in range(connections)))
        elapsed = time.perf_counter() - start
    return Load(elapsed, latencies, statuses)


class LoadProcess:
    """The load, in a process of its own so that it does not share the bench's interpreter."""

    def __init__(self, url: str, seconds: float, connections: int):
        context = multiprocessing.get_context("spawn")
        self.results = context.Queue()
        self.process = context.Process(target=run_load, args=(url, seconds, connections, self.results), daemon=True)
        self.process.start()

    def result(self) -> Load:
        while True:
            try:
                figures = self.results.get(timeout=1)
            except queue.Empty:
                if not self.process.is_alive():
                    raise SystemExit(f"the load process died (exit code {self.process.exitcode})") from None
                continue
            self.process.join(timeout=10)
            return figures


def load(url: str, seconds: float, connections: int) -> Load:
    return LoadProcess(url, seconds, connections).result()


# ----------------------------------------------------------------------------- figures


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def bench_bulk(url: str) -> tuple[list[float], int]:
    """Round trips of bulk evaluations of every flag, one keep-alive connection, a new user each."""
    times = []
    with httpx.Client(base_url=url, headers=AUTH) as http:
        for i in range(BULK_REQUESTS + 20):
            start = time.perf_counter()
            response = http.post(BULK_PATH, json={"context": {"targetingKey": f"user-{i}", "plan": "pro"}})
            elapsed = (time.perf_counter() - start) * 1000
            if response.status_code != 200 or len(response.json()["flags"]) != FLAGS:
                raise SystemExit(f"bulk evaluation answered {response.status_code}: {response.text[:200]}")
            if i >= 20:  # the first requests warm up the connection and the process
                times.append(elapsed)
        return times, len(response.content)


def bench_in_process(db: Database) -> tuple[float, float]:
    """µs per call of `evaluate` and of openfeature-flagd-core on the same 200 flags, best of 3."""
    snapshot = Snapshots(db, SEGMENTS).current(ENVIRONMENT)
    core = FlagdCore()
    core.set_flags(json.dumps(flagd_document(snapshot)))
    calls = [(flag, f"user-{i}") for i in range(50) for flag in snapshot.flags]

    def ours() -> None:
        for flag, key in calls:
            evaluate(snapshot, flag, {"targetingKey": key, "email": f"{key}@mail.org"})

    def theirs() -> None:
        for flag, key in calls:
            core.resolve_boolean_value(flag, False, EvaluationContext(key, {"email": f"{key}@mail.org"}))

    def per_call(run) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
        return best / len(calls) * 1e6

    return per_call(ours), per_call(theirs)


@dataclass
class KillFigures:
    to_off_ms: list[float]
    stale_answers: int
    load: Load | None


def bench_kill_switch(url: str, db: Database, connections: int) -> KillFigures:
    """Turn a flag off (a committed transaction, as /flag off does), then ask until the endpoint
    answers off; with `connections`, while the load runs. Any "on" after the commit returned is a
    stale answer."""
    background = LoadProcess(url, KILL_ROUNDS * 0.2 + 3, connections) if connections else None
    to_off, stale = [], 0
    body = {"context": {"targetingKey": "user-42"}}
    with httpx.Client(base_url=url, headers=AUTH) as http:
        path = f"/envs/{ENVIRONMENT}/ofrep/v1/evaluate/flags/{KILL_FLAG}"
        if background:
            time.sleep(1)  # let the load reach full speed
        for _ in range(KILL_ROUNDS):
            turn(db, KILL_FLAG, FlagState(enabled=True))
            if http.post(path, json=body).json()["value"] is not True:
                raise SystemExit("the kill flag did not come back on")
            time.sleep(0.05)
            turn(db, KILL_FLAG, FlagState(enabled=False))
            acknowledged = time.perf_counter()
            while http.post(path, json=body).json()["value"] is not False:
                stale += 1
            to_off.append((time.perf_counter() - acknowledged) * 1000)
    return KillFigures(to_off, stale, background.result() if background else None)


def print_kill(title: str, kill: KillFigures) -> None:
    print(f"\n{title}")
    print(
        f"  ms: median {statistics.median(kill.to_off_ms):.2f}, max {max(kill.to_off_ms):.2f}; "
        f"answers still on after the commit: {kill.stale_answers}"
    )
    if kill.load:
        print(f"  the load meanwhile: {kill.load.rate:,.0f} requests/s, p99 {percentile(kill.load.latencies_ms, 0.99):.2f} ms")


def print_load(title: str, figures: Load) -> None:
    ms = figures.latencies_ms
    print(f"\n{title}")
    print(f"  {len(ms)} requests in {figures.seconds:.1f} s: {figures.rate:,.0f} requests/s, HTTP {dict(figures.statuses)}")
    print(
        f"  round trip ms: median {statistics.median(ms):.2f}, p90 {percentile(ms, 0.90):.2f}, "
        f"p99 {percentile(ms, 0.99):.2f}, max {max(ms):.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the measured single-flag load")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections of the load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="releasebot-bench-flags-") as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir}/releasebot.db"
        db = Database(database_url)
        db.upgrade()
        seed(db)
        print(f"{FLAGS} flags in {ENVIRONMENT}; SQLite in {tmp}; {os.cpu_count()} cores")
        with releasebot_serve(workdir, database_url) as server:
            url = server.url
            load(url, 2.0, args.connections)  # warm-up
            cpu_before = server.cpu_seconds()
            single = load(url, args.seconds, args.connections)
            cpu_per_request = (server.cpu_seconds() - cpu_before) / len(single.latencies_ms) * 1e6
            print_load(f"OFREP single-flag evaluation, {args.connections} connections from a separate process", single)
            print(f"  server CPU per request: {cpu_per_request:.0f} µs (user + system, all its threads)")

            bulk_ms, bulk_bytes = bench_bulk(url)
            print(f"\nOFREP bulk evaluation of {FLAGS} flags, {len(bulk_ms)} requests on one connection ({bulk_bytes:,} bytes each)")
            print(
                f"  round trip ms: median {statistics.median(bulk_ms):.2f}, p90 {percentile(bulk_ms, 0.90):.2f}, "
                f"p99 {percentile(bulk_ms, 0.99):.2f}, max {max(bulk_ms):.2f}"
            )

            ours_us, flagd_us = bench_in_process(db)
            print(f"\nIn-process evaluation on the same {FLAGS} flags, 10,000 calls each, best of 3")
            print(f"  bot.flags.evaluation.evaluate: {ours_us:.2f} µs per call (flagd-core's JsonLogic, the flag prepared per snapshot)")
            print(f"  openfeature-flagd-core:        {flagd_us:.2f} µs per call")
            print(f"  flagd-core / ours:             {flagd_us / ours_us:.1f}x")

            idle = bench_kill_switch(url, db, 0)
            print_kill(f"Kill switch, idle server ({KILL_ROUNDS} rounds): off committed -> first OFREP answer off", idle)
            busy = bench_kill_switch(url, db, args.connections)
            print_kill(f"Kill switch under the load above ({KILL_ROUNDS} rounds)", busy)
        db.dispose()

    single_p99, bulk_p99 = percentile(single.latencies_ms, 0.99), percentile(bulk_ms, 0.99)
    stale = idle.stale_answers + busy.stale_answers
    lines = [
        (f"single-flag throughput {single.rate:,.0f}/s >= {THROUGHPUT_TARGET:,.0f}/s", single.rate >= THROUGHPUT_TARGET),
        (f"single-flag p99 {single_p99:.2f} ms < {P99_TARGET_MS:.0f} ms", single_p99 < P99_TARGET_MS),
        (f"every single-flag answer 200 ({dict(single.statuses)})", set(single.statuses) == {200}),
        (f"bulk of {FLAGS} flags p99 {bulk_p99:.2f} ms < {BULK_TARGET_MS:.0f} ms", bulk_p99 < BULK_TARGET_MS),
        (f"in-process evaluate no slower than flagd-core's whole resolve ({flagd_us / ours_us:.1f}x)", ours_us <= flagd_us),
        (f"kill switch: no answer on after the commit ({stale})", stale == 0),
    ]
    return print_summary(lines)


if __name__ == "__main__":
    sys.exit(main())
