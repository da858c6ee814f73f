"""Soak: the reliability figures of issue 6, measured from outside against real bot processes.

Every scenario runs `releasebot` subprocesses (run-job, serve) on one PostgreSQL database, with
SLACK_API_URL at the fake Slack (bot/slack/fake) and products in real git repositories, all on
127.0.0.1. The figures are read back from the fake (what Slack holds) and from the database (what
the bot recorded), never from the bot's own logs, because the claim under test is what users see:
nothing lost, nothing doubled.

    python -m bench.soak [--scenario cut-200|replicas-clicks|sigkill-cuts|all] [--database-url URL]

Each scenario drops and recreates the `public` schema of the database (default: the local
`releasebot_soak`, created when missing) and runs `releasebot migrate`. The exit status is 1 when
a target is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import yaml
from sqlalchemy import func, literal, select
from sqlalchemy.engine import make_url

from bot.config import WEEKDAYS
from bot.slack.delivery import LEASE
from storage import Database
from storage.models import CandidateEventRow, CandidateRow, ChangeRow, LeaseRow, OutboxRow, SlackMessageRow
from tests.conftest import reset_postgres
from tests.gitrepo import GitRepo
from tests.harness import free_port
from bot.slack.fake import FakeSlack, SlackDriver

RELEASEBOT = Path(sys.executable).with_name("releasebot")
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/releasebot_soak"
SIGNING_SECRET = "soak-signing-secret"
TIMEZONE = "America/New_York"
# The Slack methods a cut and its delivery call; cut-200 fails 5% of each with HTTP 500.
CUT_METHODS = ("users.lookupByEmail", "users.info", "chat.postMessage", "chat.update")
LEASE_SECONDS = round(LEASE.total_seconds())  # how long a killed process keeps its outbox lanes


# ----------------------------------------------------------------------------- report


@dataclass
class Report:
    """Prints each figure as it is measured and remembers the verdicts for the summary."""

    verdicts: list[tuple[str, str, bool]] = field(default_factory=list)
    scenario: str = ""

    def section(self, name: str, what: str) -> None:
        self.scenario = name
        print(f"\n=== {name}: {what}", flush=True)

    def note(self, text: str) -> None:
        print(f"  {text}", flush=True)

    def figure(self, label: str, value, target: str | None = None, met: bool | None = None) -> None:
        verdict = "" if met is None else ("MET" if met else "MISSED")
        goal = f"target {target}" if target else ""
        print(f"  {label:<44} {str(value):<28} {goal:<22} {verdict}".rstrip(), flush=True)
        if met is not None:
            self.verdicts.append((self.scenario, label, met))

    def summary(self) -> bool:
        print("\n=== summary")
        for scenario, label, met in self.verdicts:
            print(f"  {'MET   ' if met else 'MISSED'} {scenario}: {label}")
        return all(met for _, _, met in self.verdicts)


# ----------------------------------------------------------------------------- the world of one scenario


@dataclass
class Product:
    key: str
    name: str
    channel: str
    repo: GitRepo
    heads: list[str] = field(default_factory=list)  # every head the soak gave the branch, in order

    def commit(self, author_email: str) -> str:
        head = self.repo.commit(f"Change {len(self.heads) + 1} of {self.name}", author_email, when=dt.datetime.now(dt.timezone.utc))
        self.heads.append(head)
        return head


@dataclass
class Replica:
    process: subprocess.Popen
    url: str

    @property
    def events_url(self) -> str:
        return self.url + "/slack/events"


class Rig:
    """A fake Slack workspace, git repositories, a config file, a fresh schema, and every bot
    process the scenario starts, so that all of them end with the scenario whatever happens."""

    def __init__(self, workdir: Path, database_url: str, fake: FakeSlack, products: int, engineers: int):
        self.workdir = workdir
        self.database_url = database_url
        self.fake = fake
        self.engineers = [f"U{1000 + i}" for i in range(engineers)]
        for user in self.engineers:
            fake.add_user(user, email=email_of(user), tz=TIMEZONE)
        self.products = [
            Product(f"p{i:03d}", f"Product {i:03d}", f"C0P{i:03d}", GitRepo(workdir / "repos" / f"p{i:03d}"))
            for i in range(products)
        ]
        for product in self.products:
            fake.add_channel(product.channel, members=tuple(self.engineers))
        self.config_path = workdir / "releasebot.yml"
        self.config_path.write_text(yaml.safe_dump(self._config(), sort_keys=False))
        self.env = {
            **os.environ,
            "SLACK_BOT_TOKEN": fake.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "DATABASE_URL": database_url,
            "RELEASEBOT_CONFIG": str(self.config_path),
            "RELEASEBOT_DB_WAIT": "5",
            "RELEASEBOT_GIT_CACHE": str(workdir / "git-cache"),
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: list[subprocess.Popen] = []
        reset_postgres(database_url)
        self.db = Database(database_url)
        rc, _ = self.run("migrate", "migrate", timeout=60)
        if rc != 0:
            raise RuntimeError(f"releasebot migrate failed:\n{self.log_tail('migrate')}")

    def _config(self) -> dict:
        """Daily cuts are scheduled three days from today, so no serve process (nor its same-day
        catch-up) ever cuts by itself: every cut in the soak is a `run-job` the soak chose."""
        today = dt.datetime.now(ZoneInfo(TIMEZONE)).weekday()
        return {
            "release_hours": {"timezone": TIMEZONE},
            "daily_candidates": {"time": "09:00", "days": [WEEKDAYS[(today + 3) % 7]]},
            "release_manager": {"preferred_timezone": TIMEZONE},
            "admins": ["U0ADMIN"],
            "products": [
                {"key": p.key, "name": p.name, "channel": p.channel, "repository": str(p.repo.path), "branch": "main"}
                for p in self.products
            ],
        }

    # -- processes

    def start(self, name: str, *args: str) -> subprocess.Popen:
        """A releasebot process in its own process group, so a SIGKILL also takes its git children."""
        log = open(self.workdir / f"{name}.log", "ab")
        process = subprocess.Popen(
            [str(RELEASEBOT), *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes.append(process)
        return process

    def run(self, name: str, *args: str, timeout: float) -> tuple[int | None, float]:
        """(exit code or None on timeout, seconds) of a releasebot command run to its end."""
        start = time.monotonic()
        process = self.start(name, *args)
        try:
            return process.wait(timeout), time.monotonic() - start
        except subprocess.TimeoutExpired:
            self.kill(process)
            return None, time.monotonic() - start

    def serve(self, name: str) -> Replica:
        port = free_port()
        process = self.start(name, "serve", "--host", "127.0.0.1", "--port", str(port))
        replica = Replica(process, f"http://127.0.0.1:{port}")
        if not wait_until(lambda: process.poll() is not None or healthy(replica.url), timeout=30) or process.poll() is not None:
            raise RuntimeError(f"{name} did not start:\n{self.log_tail(name)}")
        return replica

    def kill(self, process: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self, process: subprocess.Popen, timeout: float = 20) -> int | None:
        """SIGTERM, as an orchestrator stops a replica; the exit code, or None if it had to be killed."""
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(process)
            return None

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.kill(process)
            else:  # the leader is gone; a git child of a killed leader may linger in the group
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
        self.db.dispose()

    def log_tail(self, name: str, lines: int = 15) -> str:
        path = self.workdir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    # -- what the database holds

    def backlog(self) -> int:
        with self.db.reading() as session:
            return session.scalar(select(func.count(OutboxRow.id)).where(OutboxRow.delivered_at.is_(None)))

    def candidates(self) -> list[CandidateRow]:
        with self.db.reading() as session:
            return list(session.scalars(select(CandidateRow).order_by(CandidateRow.id)))

    def candidate_count(self) -> int:
        with self.db.reading() as session:
            return session.scalar(select(func.count(CandidateRow.id)))

    def held_back(self) -> tuple[int, int]:
        """(lanes, owed messages) held by a live outbox lease: after kills, those of dead processes."""
        live = (LeaseRow.name == literal("outbox:") + OutboxRow.lane) & (LeaseRow.held_until > dt.datetime.now(dt.timezone.utc))
        with self.db.reading() as session:
            lanes, owed = session.execute(
                select(func.count(OutboxRow.lane.distinct()), func.count(OutboxRow.id)).join(LeaseRow, live).where(OutboxRow.delivered_at.is_(None))
            ).one()
        return lanes, owed


@contextlib.contextmanager
def rig(args, name: str, products: int, engineers: int) -> Iterator[Rig]:
    workdir = Path(tempfile.mkdtemp(prefix=f"soak-{name}-"))
    fake = FakeSlack().start()
    world = None
    try:
        world = Rig(workdir, args.database_url, fake, products, engineers)
        yield world
    finally:
        if world is not None:
            world.close()
        fake.stop()
        if args.keep:
            print(f"  (logs and repositories kept in {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def email_of(user: str) -> str:
    return f"{user.lower()}@example.com"


def healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


# ----------------------------------------------------------------------------- what Slack holds against what was owed


@dataclass
class Doubled:
    """A message Slack holds more often than the bot owed it: where, and how to find its posts."""

    where: str
    channel: str  # the `channel` argument of its chat.postMessage calls (a user id for a DM)
    text: str
    is_notice: bool  # a notice is matched by its text's prefix, since updates change the rest
    thread_ts: str | None = None

    def posted_by(self, call: dict) -> bool:
        params = call["params"]
        text = str(params.get("text", ""))
        return (
            params.get("channel") == self.channel
            and params.get("thread_ts") == self.thread_ts
            and (text.startswith(self.text) if self.is_notice else text == self.text)
        )


@dataclass
class Delivery:
    """Every candidate's message, thread and DMs in the fake, compared with the outbox."""

    notices: int = 0
    lost_notices: list[str] = field(default_factory=list)
    stale_notices: list[str] = field(default_factory=list)  # the recorded message does not show the candidate's state
    lost_posts: list[str] = field(default_factory=list)  # thread replies and DMs owed but not in Slack
    doubled: list[Doubled] = field(default_factory=list)
    gave_up: int = 0
    backlog: int = 0

    @property
    def doubled_notices(self) -> list[Doubled]:
        return [d for d in self.doubled if d.is_notice]

    @property
    def doubled_posts(self) -> list[Doubled]:
        return [d for d in self.doubled if not d.is_notice]


def check_delivery(r: Rig) -> Delivery:
    with r.db.reading() as session:
        candidates = list(session.scalars(select(CandidateRow)))
        owed = list(session.scalars(select(OutboxRow)))
        posted_at = {row.key: (row.channel, row.ts) for row in session.scalars(select(SlackMessageRow))}
    products = {p.key: p for p in r.products}
    result = Delivery(backlog=sum(1 for row in owed if row.delivered_at is None))
    result.gave_up = sum(1 for row in owed if (row.error or "").startswith("gave up"))
    for candidate in candidates:
        product = products[candidate.product]
        prefix = f"{product.name} {candidate.version}:"
        shown = [m for m in r.fake.messages(product.channel) if m["text"].startswith(prefix)]
        if not shown:
            result.lost_notices.append(candidate.version)
            continue
        result.notices += 1
        result.doubled += [Doubled(f"{candidate.product} {candidate.version} notice", product.channel, prefix, True)] * (len(shown) - 1)
        location = posted_at.get(f"candidate:{candidate.id}")
        current = r.fake.message(*location) if location else None
        state = candidate.state.replace("_", " ")
        if current is None or not current["text"].startswith(f"{prefix} {state},"):
            result.stale_notices.append(f"{candidate.version} is {state} but shows {current and current['text']!r}")
        replies = Counter(m["text"] for m in r.fake.thread(*location)) if location else Counter()
        thread_owed = Counter(
            row.payload["text"] for row in owed if row.lane == f"candidate:{candidate.id}" and row.kind == "thread" and row.delivered_at
        )
        compare(f"{candidate.product} {candidate.version} thread", product.channel, thread_owed, replies, result, location and location[1])
    for user in sorted({row.payload["user"] for row in owed if row.kind == "dm"}):
        dm_owed = Counter(row.payload["text"] for row in owed if row.kind == "dm" and row.payload["user"] == user and row.delivered_at)
        compare(f"DM to {user}", user, dm_owed, Counter(m["text"] for m in r.fake.dms(user)), result)
    return result


def compare(where: str, channel: str, owed: Counter, posted: Counter, result: Delivery, thread_ts: str | None = None) -> None:
    for text, count in (owed - posted).items():
        result.lost_posts.append(f"{where}: {count}x {text[:60]!r}")
    for text, count in (posted - owed).items():
        result.doubled += [Doubled(where, channel, text, False, thread_ts)] * count


def report_delivery(report: Report, delivery: Delivery, expected_notices: int) -> None:
    report.figure("notices delivered", f"{delivery.notices} of {expected_notices}", str(expected_notices), delivery.notices == expected_notices)
    doubled = len(delivery.doubled_notices)
    report.figure("duplicate notices", doubled, "0", doubled == 0)
    report.figure("notices not showing the candidate's state", len(delivery.stale_notices), "0", not delivery.stale_notices)
    report.figure("thread replies and DMs lost", len(delivery.lost_posts), "0", not delivery.lost_posts)
    report.figure("thread replies and DMs doubled", len(delivery.doubled_posts), "0", not delivery.doubled_posts)
    report.figure("messages still owed / given up", f"{delivery.backlog} / {delivery.gave_up}", "0 / 0", delivery.backlog == delivery.gave_up == 0)
    for line in delivery.lost_notices[:5] + delivery.stale_notices[:5] + delivery.lost_posts[:5]:
        report.note(f"  - {line}")
    for doubled in delivery.doubled[:5]:
        report.note(f"  - doubled: {doubled.where}: {doubled.text[:60]!r}")


def successful(fake: FakeSlack, method: str) -> list[dict]:
    return [call for call in fake.calls(method) if call["status"] == 200 and call["error"] is None]


# ----------------------------------------------------------------------------- 1. cut-200


def cut_200(args, report: Report) -> None:
    """200 products cut in one daily run while Slack throttles and fails: the run's time against
    what Slack's limits alone would allow, and every notice exactly once."""
    report.section("cut-200", "200 products, chat.postMessage 1/s per channel, 5% of calls answer 500")
    with rig(args, "cut-200", products=200, engineers=200) as r:
        for product, engineer in zip(r.products, r.engineers):
            product.commit(email_of(engineer))
        r.fake.rate_limit("chat.postMessage", 1, per_channel=True)
        for offset, method in enumerate(CUT_METHODS):
            r.fake.failure_rate(method, 0.05, seed=args.seed + offset)

        start = time.time()
        rc, job_seconds = r.run("run-job", "run-job", "daily-candidates", timeout=300)
        by_run_job = check_delivery(r).notices
        report.figure("run-job exit code", rc, "0", rc == 0)
        report.note(f"run-job took {job_seconds:.1f} s and delivered {by_run_job} notices; {r.backlog()} messages left owed")
        if rc != 0:
            report.note(r.log_tail("run-job"))

        serve_start = time.time()
        replica = r.serve("serve")
        drained = wait_until(lambda: r.backlog() == 0, timeout=240, interval=0.2)
        report.note(f"serve {'delivered the rest' if drained else 'did NOT empty the outbox'} in {time.time() - serve_start:.1f} s")
        code = r.stop(replica.process)
        report.figure("serve exit code on SIGTERM", code, "0", code == 0)

        delivery = check_delivery(r)
        report_delivery(report, delivery, expected_notices=len(r.products))

        posts = successful(r.fake, "chat.postMessage")
        first_post = min(c["time"] for c in posts)
        finished = max(c["time"] for c in posts + successful(r.fake, "chat.update"))
        with r.db.reading() as session:
            last_cut = session.scalar(select(func.max(CandidateRow.created_at))).timestamp()
            owed = list(session.scalars(select(OutboxRow)))
        heaviest = max(posts_per_target(owed).values())
        bound = heaviest - 1.0
        report.figure("run time (run-job start to last message)", f"{finished - start:.1f} s")
        report.note(f"  cutting: the 200th candidate was recorded after {last_cut - start:.1f} s")
        report.note(f"  delivering: {len(posts)} posts from {first_post - start:.1f} s to {finished - start:.1f} s")
        report.figure("lower bound from Slack's limits", f"{bound:.1f} s")
        report.note(
            f"  bound: at 1 post/s per channel with a burst of 1, k posts to one channel need k-1 s; at most {heaviest} "
            f"posts go to any one channel or person, and channels are limited independently"
        )
        report.figure("ratio run time / bound", f"{(finished - start) / bound:.0f}x" if bound > 0 else "n/a (bound 0)")
        failed = Counter(c["method"] for c in r.fake.calls() if c["status"] == 500)
        throttled = sum(1 for c in r.fake.calls("chat.postMessage") if c["status"] == 429)
        report.note(f"fake Slack answered 500 to {dict(failed)} and 429 to {throttled} chat.postMessage calls")


def posts_per_target(owed: list[OutboxRow]) -> Counter:
    """New posts owed per rate-limit key: a candidate's first notice and its thread replies (one
    candidate per channel here), and each person's DMs. Later notices are chat.update, not limited."""
    posts = Counter(row.payload["user"] if row.kind == "dm" else row.lane for row in owed if row.kind in ("dm", "thread"))
    posts.update({row.lane for row in owed if row.kind == "notice"})
    return posts


# ----------------------------------------------------------------------------- 2. replicas-clicks


def replicas_clicks(args, report: Report) -> None:
    """Three replicas on one database take 100 engineers' Verified clicks at once, with duplicates:
    each sign-off must be recorded once, and each message it owes posted by exactly one replica."""
    report.section("replicas-clicks", "3 serve replicas, 100 engineers, 120 concurrent Verified clicks (20% duplicates)")
    with rig(args, "replicas-clicks", products=1, engineers=100) as r:
        product = r.products[0]
        for engineer in r.engineers:
            product.commit(email_of(engineer))
        rc, _ = r.run("run-job", "run-job", "daily-candidates", timeout=120)
        if rc != 0 or not r.fake.messages(product.channel):
            raise RuntimeError(f"the cut failed:\n{r.log_tail('run-job')}")
        notice = r.fake.messages(product.channel)[0]
        [candidate] = r.candidates()

        replicas = [r.serve(f"replica-{n}") for n in range(3)]
        for offset, method in enumerate(("chat.postMessage", "chat.update")):
            r.fake.failure_rate(method, 0.05, seed=args.seed + offset)
        rng = random.Random(args.seed)
        clickers = r.engineers + rng.sample(r.engineers, len(r.engineers) // 5)
        rng.shuffle(clickers)
        drivers = [SlackDriver(replica.events_url, SIGNING_SECRET, r.fake) for replica in replicas]
        start_line = threading.Barrier(len(clickers))

        def click(index: int) -> tuple[int, float]:
            driver = drivers[index % len(drivers)]
            start_line.wait()
            began = time.perf_counter()
            response = driver.block_action(clickers[index], "rc_verify", channel_id=product.channel, message=notice)
            return response.status_code, time.perf_counter() - began

        try:
            with ThreadPoolExecutor(len(clickers)) as pool:
                answers = list(pool.map(click, range(len(clickers))))
        finally:
            for driver in drivers:
                driver.close()
        settled = wait_until(
            lambda: r.backlog() == 0 and len(r.fake.ephemerals(channel=product.channel)) >= len(clickers), timeout=90, interval=0.2
        )
        statuses = Counter(status for status, _ in answers)
        acks = sorted(seconds * 1000 for _, seconds in answers)
        report.figure("clicks answered HTTP 200", f"{statuses[200]} of {len(clickers)}", str(len(clickers)), statuses[200] == len(clickers))
        report.note(f"ack round trip: median {statistics.median(acks):.0f} ms, max {acks[-1]:.0f} ms; settled: {settled}")

        with r.db.reading() as session:
            changes = list(session.scalars(select(ChangeRow).where(ChangeRow.candidate_id == candidate.id)))
            verified_events = Counter(
                actor for actor in session.scalars(
                    select(CandidateEventRow.actor).where(CandidateEventRow.candidate_id == candidate.id, CandidateEventRow.kind == "verified")
                )
            )
            final = session.get(CandidateRow, candidate.id)
        lost = sum(1 for c in changes if c.verified_by is None)
        wrong = sum(1 for c in changes if c.verified_by not in (None, c.engineer))
        report.figure("sign-offs lost (changes unverified)", lost, "0", lost == 0)
        report.figure("sign-offs by the wrong person", wrong, "0", wrong == 0)
        doubled_events = sum(n - 1 for n in verified_events.values() if n > 1)
        report.figure("sign-offs doubled (verified events)", doubled_events, "0", doubled_events == 0)

        thread = r.fake.thread(product.channel, notice["ts"])
        said = Counter(m["text"] for m in thread)
        per_engineer = [said[f"<@{user}> verified their changes."] for user in r.engineers]
        report.figure("engineers with 0 'verified' thread replies", per_engineer.count(0), "0", per_engineer.count(0) == 0)
        doubled_replies = sum(n - 1 for n in per_engineer if n > 1)
        report.figure("'verified' thread replies doubled", doubled_replies, "0", doubled_replies == 0)
        ready = said["Every change is verified: the candidate is ready for production."]
        report.figure("'ready' thread replies", ready, "1", ready == 1)
        ready_dms = sum(1 for m in r.fake.dms(final.release_manager) if " is ready: every change is verified." in m["text"])
        report.figure("'ready' DMs to the release manager", ready_dms, "1", ready_dms == 1)
        shown = r.fake.message(product.channel, notice["ts"])["text"]
        report.figure("final message", shown.split(": ", 1)[1], "ready, 100 of 100", shown.endswith(": ready, 100 of 100 verified"))
        answers_by_kind = Counter(
            "recorded" if "is recorded" in e["text"] else "already verified" if "already verified" in e["text"] else e["text"][:50]
            for e in r.fake.ephemerals(channel=product.channel)
        )
        report.figure(
            "private answers (recorded / already verified)",
            f"{answers_by_kind['recorded']} / {answers_by_kind['already verified']}",
            f"{len(r.engineers)} / {len(clickers) - len(r.engineers)}",
            answers_by_kind["recorded"] == len(r.engineers) and answers_by_kind["already verified"] == len(clickers) - len(r.engineers),
        )
        report_delivery(report, check_delivery(r), expected_notices=1)
        codes = [r.stop(replica.process) for replica in replicas]
        report.figure("replicas exiting 0 on SIGTERM", f"{codes.count(0)} of 3 {codes}", "3", codes.count(0) == 3)


# ----------------------------------------------------------------------------- 3. sigkill-cuts


@dataclass
class Kill:
    round: int
    at: float  # wall-clock time of the SIGKILL
    phase: str


def sigkill_cuts(args, report: Report) -> None:
    """Daily cuts killed with SIGKILL at random moments, each followed by a fresh run: no candidate
    may be lost, half-made or made twice, and after a final serve no notice lost or doubled."""
    kills_wanted, products, engineers, changed_per_round = 20, 20, 10, 12
    report.section("sigkill-cuts", f"{kills_wanted} SIGKILLs of `run-job daily-candidates` over {products} products")
    rng = random.Random(args.seed)
    with rig(args, "sigkill-cuts", products=products, engineers=engineers) as r:
        for product in r.products:
            product.commit(email_of(rng.choice(r.engineers)))
        first_cut, whole_run = timed_run(r)
        report.note(f"an unkilled run of {products} cuts: first candidate after {first_cut:.1f} s, exit after {whole_run:.1f} s")

        kills: list[Kill] = []
        recoveries_failed = 0
        rounds = 0
        while len(kills) < kills_wanted and rounds < 2 * kills_wanted:
            rounds += 1
            changed = rng.sample(r.products, changed_per_round)
            for product in changed:
                product.commit(email_of(rng.choice(r.engineers)))
            kill = kill_one_run(r, rounds, rng.uniform(0.8 * first_cut, whole_run), changed_per_round)
            if kill is not None:
                kills.append(kill)
            rc, _ = r.run(f"recovery-{rounds}", "run-job", "daily-candidates", timeout=120)
            recoveries_failed += rc != 0
        phases = Counter(kill.phase.split(" (")[0] for kill in kills)
        report.figure("SIGKILLs of a live run-job", f"{len(kills)} in {rounds} rounds", str(kills_wanted), len(kills) >= kills_wanted)
        report.note(f"where they landed: {dict(phases)}")
        report.figure("recovery runs exiting non-zero", recoveries_failed, "0", recoveries_failed == 0)

        lanes, held = r.held_back()
        drain_start = time.monotonic()
        replica = r.serve("final-serve")
        drained = wait_until(lambda: r.backlog() == 0, timeout=LEASE_SECONDS + 90, interval=0.5)
        report.note(
            f"final serve {'emptied' if drained else 'did NOT empty'} the outbox in {time.monotonic() - drain_start:.1f} s; "
            f"when it started, {held} owed messages in {lanes} lanes were leased by killed processes (a lease lasts {LEASE_SECONDS} s)"
        )
        r.stop(replica.process)
        with r.db.reading() as session:
            waits = sorted(
                (row.delivered_at - row.created_at).total_seconds()
                for row in session.scalars(select(OutboxRow).where(OutboxRow.delivered_at.is_not(None)))
            )
        report.note(f"an owed message waited {statistics.median(waits):.1f} s (median), {waits[-1]:.0f} s at most, from its cut to Slack")

        lost, duplicates, half_made = check_candidates(r)
        report.figure("lost candidates (a head with no candidate)", len(lost), "0", not lost)
        report.figure("duplicate candidates (same head twice)", len(duplicates), "0", not duplicates)
        report.figure("half-made candidates (changes != commits)", len(half_made), "0", not half_made)
        for line in (lost + duplicates + half_made)[:5]:
            report.note(f"  - {line}")
        delivery = check_delivery(r)
        report_delivery(report, delivery, expected_notices=len(r.candidates()))
        if delivery.doubled:
            report_doubling_window(report, r, delivery.doubled, kills)


def timed_run(r: Rig) -> tuple[float, float]:
    """(seconds to the first candidate, seconds to exit) of one unkilled run: the range the kills are drawn from."""
    start = time.monotonic()
    process = r.start("warm-up", "run-job", "daily-candidates")
    first = None
    while process.poll() is None:
        if first is None and r.candidate_count() > 0:
            first = time.monotonic() - start
        time.sleep(0.02)
    if process.returncode != 0:
        raise RuntimeError(f"the first cut failed:\n{r.log_tail('warm-up')}")
    return first or 0.0, time.monotonic() - start


def kill_one_run(r: Rig, round_number: int, delay: float, changed: int) -> Kill | None:
    """Start a daily run and SIGKILL it after `delay`; None if it had already finished by then."""
    candidates_before = r.candidate_count()
    process = r.start(f"killed-{round_number}", "run-job", "daily-candidates")
    try:
        process.wait(delay)
        return None
    except subprocess.TimeoutExpired:
        pass
    at = time.time()
    r.kill(process)
    cut = r.candidate_count() - candidates_before
    if cut == 0:
        phase = "before its first cut"
    elif cut < changed:
        phase = f"cutting ({cut} of {changed} cut)"
    else:
        phase = f"delivering ({r.backlog()} messages owed)"
    return Kill(round_number, at, phase)


def check_candidates(r: Rig) -> tuple[list[str], list[str], list[str]]:
    """Every head the soak made has one candidate, holding exactly the commits up to that head."""
    candidates = r.candidates()
    by_head = Counter((c.product, c.head_sha) for c in candidates)
    lost = [f"{p.key} head {head[:8]}" for p in r.products for head in p.heads if by_head[(p.key, head)] == 0]
    duplicates = [f"{key} head {head[:8]} x{n}" for (key, head), n in by_head.items() if n > 1]
    with r.db.reading() as session:
        shas = {
            c.id: list(session.scalars(select(ChangeRow.sha).where(ChangeRow.candidate_id == c.id).order_by(ChangeRow.position)))
            for c in candidates
        }
    products = {p.key: p for p in r.products}
    half_made = [
        f"{c.product} {c.version}: {len(shas[c.id])} changes, {products[c.product].heads.index(c.head_sha) + 1} commits"
        for c in candidates
        if shas[c.id] != products[c.product].heads[: products[c.product].heads.index(c.head_sha) + 1]
    ]
    return lost, duplicates, half_made


def report_doubling_window(report: Report, r: Rig, doubled: list[Doubled], kills: list[Kill]) -> None:
    """Does each doubled message match the README's window: Slack accepted the post, the posting
    process was SIGKILLed before it recorded that, and a later process posted it again?"""
    posts = successful(r.fake, "chat.postMessage")
    matched, gaps, per_kill = 0, [], Counter()
    for item in doubled:
        times = sorted(call["time"] for call in posts if item.posted_by(call))
        kill = next((k for k in kills if times and k.at >= times[0]), None)
        if kill is not None and times[-1] > kill.at:
            matched += 1
            gaps.append((kill.at - times[0]) * 1000)
            per_kill[f"#{kill.round}"] += 1
        else:
            report.note(f"  - NOT the README window: {item.where} posted at {times}, kills at {[round(k.at, 3) for k in kills]}")
    report.figure("doubled messages matching the README window", f"{matched} of {len(doubled)}")
    if gaps:
        report.note(
            f"  each was accepted by Slack, then the posting run was killed {min(gaps):.0f}-{max(gaps):.0f} ms later "
            f"(median {statistics.median(gaps):.0f} ms) and a later run posted it again"
        )
        report.note(f"  doubled messages per kill: {dict(per_kill.most_common())} ({len(per_kill)} of {len(kills)} kills doubled something)")


# ----------------------------------------------------------------------------- main


SCENARIOS = {"cut-200": cut_200, "replicas-clicks": replicas_clicks, "sigkill-cuts": sigkill_cuts}


def ensure_database(url: str) -> None:
    """Create the soak's own database if missing; the tests' database is never used."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("the soak needs PostgreSQL: several processes share one database")
    if parsed.database == "test":
        raise SystemExit("refusing the database named test: the test suite owns it")
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,)).fetchone() is None:
            connection.execute(f'CREATE DATABASE "{parsed.database}"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="keep each scenario's logs and repositories")
    args = parser.parse_args()
    ensure_database(args.database_url)
    report = Report()
    started = time.monotonic()
    for name, scenario in SCENARIOS.items():
        if args.scenario in (name, "all"):
            scenario_start = time.monotonic()
            scenario(args, report)
            report.note(f"({name} took {time.monotonic() - scenario_start:.0f} s)")
    print(f"\nall scenarios took {time.monotonic() - started:.0f} s")
    return 0 if report.summary() else 1


if __name__ == "__main__":
    sys.exit(main())
