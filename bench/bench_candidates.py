"""Release-candidate benchmarks: how fast a Verified click is acknowledged, and how long a big cut takes.

Slack shows the clicker an error when the ack takes over 3 seconds, and people judge the button
by how fast it reacts, so the ack is timed as Slack sees it: a signed HTTP round trip to the real
bot. The Slack calls each click causes are counted for a small and a large team, so a bigger team
cannot quietly make every click dearer. A daily cut reads git, matches the authors to Slack users,
records the candidate and renders its message; each part is timed on 500 commits by 100 engineers.

    python -m bench.bench_candidates [--database-url postgresql+psycopg://…]

Without --database-url each scenario gets its own SQLite file in a temp dir; with it, the
PostgreSQL schema is emptied before each scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.report import print_summary
from bot.changes.git import commits_since
from bot.clock import FixedClock
from bot.config import Config, Product
from bot.release import service
from bot.release.model import Commit, Trigger
from bot.release.service import CutRequest
from bot.runtime import Runtime
from bot.scheduler import run_job
from bot.slack.blocks.candidate import candidate_message
from bot.slack.delivery import render_notice
from bot.slack.directory import SlackDirectory
from storage import Database, outbox
from tests.conftest import BASE_CONFIG, SIGNING_SECRET, START, make_runtime, reset_postgres
from tests.gitrepo import GitRepo
from tests.harness import start_bot
from bot.slack.fake import FakeSlack, SlackDriver

CHANNEL = "C0CHECKOUT"
STRANGER = "U0STRANGER"
TIMEZONES = ("America/New_York", "America/Chicago", "Europe/Berlin", "America/Los_Angeles")

CLICKS = 200
TEAM_SIZES = (5, 50)
COMMITS_PER_ENGINEER = 2
CUT_ENGINEERS, CUT_COMMITS = 100, 500

ACK_TARGET_MS = 50.0
CUT_TARGET_S = 2.0


@dataclass
class Rig:
    fake: FakeSlack
    runtime: Runtime
    driver: SlackDriver
    engineers: list[str]

    @property
    def product(self) -> Product:
        return self.runtime.config.products[0]

    def outbox_empty(self) -> bool:
        with self.runtime.db.reading() as session:
            return outbox.backlog(session)[0] == 0

    def refused_calls(self) -> list[str]:
        """Calls the fake turned down; one would mean the figures describe a broken run."""
        return [f"{c['method']}: {c['error'] or c['status']}" for c in self.fake.calls() if c["error"] or c["status"] != 200]


def fresh_database(database_url: str | None, workdir: Path, name: str) -> Database:
    """Each scenario starts from an empty schema, so an earlier scenario's rows never change the figures."""
    if database_url is None:
        database_url = f"sqlite:///{workdir}/{name}.db"
    else:
        reset_postgres(database_url)
    database = Database(database_url)
    database.upgrade()
    return database


def email_of(user: str) -> str:
    return f"{user.lower()}@example.com"


@contextlib.contextmanager
def rig(database_url: str | None, workdir: Path, name: str, engineers: int, commits: int) -> Iterator[Rig]:
    """The real bot on HTTP, a fake Slack workspace with `engineers` people, and a git repository
    whose `commits` are spread round-robin over them, as in tests/test_candidates.py."""
    with contextlib.ExitStack() as stack:
        db = fresh_database(database_url, workdir, name)
        stack.callback(db.dispose)
        fake = FakeSlack().start()
        stack.callback(fake.stop)
        users = [f"U{1000 + i}" for i in range(engineers)]
        for i, user in enumerate(users):
            fake.add_user(user, email=email_of(user), tz=TIMEZONES[i % len(TIMEZONES)])
        fake.add_user(STRANGER, name="stranger")
        fake.add_channel(CHANNEL, members=(*users, STRANGER))

        repo = GitRepo(workdir / f"{name}-repo")
        for k in range(commits):
            repo.commit(
                f"Change {k}: tidy the basket totals and their rounding rules", email_of(users[k % engineers]),
                when=START - dt.timedelta(days=1),
            )
        product = {**BASE_CONFIG["products"][0], "repository": str(repo.path)}
        runtime = make_runtime(db, fake, Config.model_validate({**BASE_CONFIG, "products": [product]}), FixedClock(START))
        bot = start_bot(runtime)
        stack.callback(bot.stop)
        driver = stack.enter_context(SlackDriver(bot.events_url, SIGNING_SECRET, fake))
        yield Rig(fake, runtime, driver, users)


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not finish its work in time")
        time.sleep(0.005)


def timed(function: Callable, *args):
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


# ----------------------------------------------------------------------------- Verified clicks


@dataclass
class ClickKind:
    """Clicks of one kind and the Slack calls they caused."""

    clicks: int
    web_api: Counter[str]
    response_urls: int
    done_ms: list[float]

    @property
    def web_api_per_click(self) -> float:
        return sum(self.web_api.values()) / self.clicks

    @property
    def response_urls_per_click(self) -> float:
        return self.response_urls / self.clicks


@dataclass
class ClickFigures:
    engineers: int
    acks_ms: list[float]
    kinds: dict[str, ClickKind]
    refused: list[str]


def click(rig: Rig, notice: dict, user: str) -> tuple[float, float]:
    """One Verified click, then wait until it is answered and all it owes is in Slack.

    Returns the ack's HTTP round trip and the time until everything was delivered, in ms.
    Waiting between clicks lets each one's Slack calls be counted exactly; people click seconds apart.
    """
    answered = len(rig.fake.calls("response_url")) + 1
    start = time.perf_counter()
    response = rig.driver.block_action(user, "rc_verify", message=notice)
    if response.status_code != 200:
        raise RuntimeError(f"the bot answered a click with HTTP {response.status_code}")
    wait_until(lambda: len(rig.fake.calls("response_url")) >= answered)
    wait_until(rig.outbox_empty)
    return response.elapsed.total_seconds() * 1000, (time.perf_counter() - start) * 1000


def bench_clicks(database_url: str | None, workdir: Path, engineers: int) -> ClickFigures:
    commits = engineers * COMMITS_PER_ENGINEER
    with rig(database_url, workdir, f"clicks-{engineers}", engineers, commits) as r:
        print(asyncio.run(run_job(r.runtime, "daily-candidates", r.product.key)))
        wait_until(lambda: bool(r.fake.messages(CHANNEL)) and r.outbox_empty())
        notice = r.fake.messages(CHANNEL)[0]
        click(r, notice, STRANGER)  # warm-up: Bolt asks auth.test on its first request
        users = r.engineers
        plan = {
            "sign-off": users[:-1],
            "final sign-off": users[-1:],  # the candidate becomes ready: a thread post and a DM more
            "repeat": [users[i % len(users)] for i in range(CLICKS - len(users))],
        }
        acks, kinds = [], {}
        for kind, clickers in plan.items():
            before = Counter(call["method"] for call in r.fake.calls())
            done = []
            for user in clickers:
                ack_ms, done_ms = click(r, notice, user)
                acks.append(ack_ms)
                done.append(done_ms)
            caused = Counter(call["method"] for call in r.fake.calls()) - before
            responses = caused.pop("response_url", 0)
            kinds[kind] = ClickKind(len(clickers), caused, responses, done)
        return ClickFigures(engineers, acks, kinds, r.refused_calls())


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def print_clicks(figures: ClickFigures) -> None:
    acks = figures.acks_ms
    print(f"\nVerified clicks, {figures.engineers} engineers, {len(acks)} clicks (each waits for the last to settle)")
    print(
        f"  ack round trip: median {statistics.median(acks):.1f} ms, p90 {percentile(acks, 90):.1f} ms, "
        f"p99 {percentile(acks, 99):.1f} ms, max {max(acks):.1f} ms"
    )
    print(f"  {'kind':<15} {'clicks':>6}  {'Web API/click':>13}  {'response_url/click':>18}  {'click→delivered median':>22}  Web API calls")
    for name, kind in figures.kinds.items():
        methods = ", ".join(f"{method} {count / kind.clicks:.2f}" for method, count in sorted(kind.web_api.items()))
        print(
            f"  {name:<15} {kind.clicks:>6}  {kind.web_api_per_click:>13.2f}  {kind.response_urls_per_click:>18.2f}"
            f"  {statistics.median(kind.done_ms):>19.1f} ms  {methods or '-'}"
        )
    if figures.refused:
        print(f"  WARNING: the fake refused {len(figures.refused)} calls: {figures.refused[:5]}")


# ----------------------------------------------------------------------------- a big cut


@dataclass
class CutFigures:
    summary: str
    git_s: float
    directory_s: float
    directory_cached_s: float
    record_s: float
    render_s: float
    rerender_s: float
    blocks: int
    longest_section: int
    accepted: bool
    refused: list[str]

    @property
    def total_s(self) -> float:
        """Counts the first directory look-up, fake's time included, so it is an upper bound."""
        return self.git_s + self.directory_s + self.record_s + self.render_s


def read_changes(runtime: Runtime, product: Product) -> tuple[str | None, str, list[Commit]]:
    """What bot.release.flows.cut does before asking Slack: find the base, read the commits since."""
    base = service.base_for_next_cut(runtime.db, product.key)
    head, commits = commits_since(product.repository, product.branch, base, runtime.clock.now())
    return base, head, commits


def match_authors(runtime: Runtime, commits: list[Commit]):
    """The directory look-ups of bot.release.flows.cut: commit emails to Slack users, then their profiles."""

    async def lookups():
        directory = SlackDirectory(runtime)
        authors = await directory.users_for_emails(sorted({c.author_email for c in commits}))
        return authors, await directory.people(sorted({user for user in authors.values() if user}))

    return asyncio.run(lookups())


def bench_cut(database_url: str | None, workdir: Path) -> CutFigures:
    """Time each step of a cut directly, so the fake Slack's own time stays out of all but the look-ups."""
    with rig(database_url, workdir, "cut", CUT_ENGINEERS, CUT_COMMITS) as r:
        runtime, product = r.runtime, r.product
        git_s, (base, head, commits) = timed(read_changes, runtime, product)
        directory_s, (authors, people) = timed(match_authors, runtime, commits)
        directory_cached_s, _ = timed(match_authors, runtime, commits)
        request = CutRequest(product=product, trigger=Trigger.DAILY, actor=None)
        record_s, outcome = timed(
            service.record_cut, runtime.db, runtime.config, request, head, base, commits, authors, people,
            runtime.clock.now(), runtime.rng,
        )
        render_s, message = timed(candidate_message, outcome.candidate, product.name)
        rerender_s, _ = timed(render_notice, runtime, outcome.candidate.id)

        runtime.wake_delivery()
        wait_until(r.outbox_empty)
        posted = r.fake.messages(CHANNEL)
        sections = [block["text"]["text"] for block in message["blocks"] if block["type"] == "section"]
        return CutFigures(
            summary=outcome.summary,
            git_s=git_s,
            directory_s=directory_s,
            directory_cached_s=directory_cached_s,
            record_s=record_s,
            render_s=render_s,
            rerender_s=rerender_s,
            blocks=len(message["blocks"]),
            longest_section=max(map(len, sections)),
            accepted=len(posted) == 1 and posted[0]["blocks"] == message["blocks"],
            refused=r.refused_calls(),
        )


def print_cut(figures: CutFigures) -> None:
    print(f"\nCut of {CUT_COMMITS} commits by {CUT_ENGINEERS} engineers ({figures.summary})")
    rows = (
        ("git read (base + git log)", figures.git_s),
        (f"directory look-ups, {CUT_ENGINEERS} users.lookupByEmail (fake's time included)", figures.directory_s),
        ("directory look-ups again, from the database cache", figures.directory_cached_s),
        ("record_cut (one transaction)", figures.record_s),
        ("candidate_message (render)", figures.render_s),
        ("total, first look-ups counted (upper bound)", figures.total_s),
        ("render_notice: reload + render, done for every notice update", figures.rerender_s),
    )
    for label, seconds in rows:
        print(f"  {label:<75} {seconds * 1000:>8.1f} ms")
    print(f"  message: {figures.blocks} blocks, longest section {figures.longest_section} chars; "
          f"posted and accepted by the fake: {'yes' if figures.accepted else 'NO'}")
    if figures.refused:
        print(f"  WARNING: the fake refused {len(figures.refused)} calls: {figures.refused[:5]}")


# ----------------------------------------------------------------------------- summary


def summary(clicks: list[ClickFigures], cut: CutFigures) -> list[tuple[str, bool]]:
    lines = []
    for figures in clicks:
        median, p99 = statistics.median(figures.acks_ms), percentile(figures.acks_ms, 99)
        lines.append((
            f"verified-click ack ({figures.engineers} engineers): median {median:.1f} ms, p99 {p99:.1f} ms"
            f"  [target: median < {ACK_TARGET_MS:.0f} ms]",
            median < ACK_TARGET_MS,
        ))
    small, large = clicks[0], clicks[-1]
    for kind in small.kinds:
        a, b = small.kinds[kind], large.kinds[kind]
        lines.append((
            f"Slack calls per {kind} click ({small.engineers} → {large.engineers} engineers): "
            f"Web API {a.web_api_per_click:.2f} → {b.web_api_per_click:.2f}, "
            f"response_url {a.response_urls_per_click:.2f} → {b.response_urls_per_click:.2f}  [target: no growth]",
            b.web_api_per_click <= a.web_api_per_click and b.response_urls_per_click <= a.response_urls_per_click,
        ))
    lines.append((
        f"cut of {CUT_COMMITS} commits by {CUT_ENGINEERS} engineers: {cut.total_s:.2f} s "
        f"(git {cut.git_s:.2f}, look-ups {cut.directory_s:.2f}, record {cut.record_s:.2f}, render {cut.render_s:.3f})"
        f"  [target: < {CUT_TARGET_S:.0f} s without the fake Slack]",
        cut.total_s < CUT_TARGET_S,
    ))
    lines.append((
        f"{CUT_COMMITS}-commit message: {cut.blocks} blocks, longest section {cut.longest_section} chars"
        "  [target: posted and accepted by the fake]",
        cut.accepted and not cut.refused,
    ))
    lines.append(("no Slack call refused by the fake during the clicks", not any(f.refused for f in clicks)))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL of a PostgreSQL database to empty and use")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="releasebot-bench-") as tmp:
        workdir = Path(tmp)
        print(f"database: {args.database_url or 'SQLite in ' + tmp}")
        clicks = [bench_clicks(args.database_url, workdir, size) for size in TEAM_SIZES]
        for figures in clicks:
            print_clicks(figures)
        cut = bench_cut(args.database_url, workdir)
        print_cut(cut)
    lines = summary(clicks, cut)
    return print_summary(lines)


if __name__ == "__main__":
    sys.exit(main())
