"""Reminder round benchmark: what the every-minute `reminders` job costs the bot at scale.

200 products with a candidate of 100 engineers each (one change per engineer, a fifth still
pending, one in a hundred away with a delegate), people in four time zones, at 12:00 in New York
on a Tuesday, four hours after the cut. The round is timed twice: the first owes the reminders
due, the second (the minute after) finds them all sent. The Slack calls the rounds make are
counted: the round reads only the database, so nobody with nothing due costs a Slack call, and
every owed message is one direct message to a person who has something due.

    python -m bench.bench_reminders [--database-url postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import tempfile
import time

import storage.candidates as candidates
import storage.people as people_store
from bench.report import bench_database, print_summary
from bot.clock import FixedClock
from bot.config import Config
from bot.people.away import Away
from bot.release.model import Candidate, CandidateState, Change, Trigger
from bot.scheduler import run_job
from bot.slack.fake import FakeSlack
from storage import Database, outbox
from storage.slack_users import SlackUser, remember_user
from tests.conftest import make_runtime

PRODUCTS, ENGINEERS = 200, 100
PENDING_EVERY, AWAY_EVERY = 5, 100  # every 5th engineer is pending, every 100th away
TIMEZONES = ("America/New_York", "America/Chicago", "Europe/Berlin", "America/Los_Angeles")
NOW = dt.datetime(2026, 11, 17, 17, 0, tzinfo=dt.timezone.utc)  # 12:00 New York, 18:00 Berlin (after hours)
CUT = NOW - dt.timedelta(hours=4)
ROUND_TARGET_S = 5.0


def user(product: int, engineer: int) -> str:
    return f"U{product:03d}{engineer:03d}"


def seed(db: Database) -> int:
    """The candidates, the people's cached profiles and the absences; returns the reminders expected."""
    expected = 0
    with db.transaction() as session:
        for p in range(PRODUCTS):
            changes = []
            for e in range(ENGINEERS):
                pending = e % PENDING_EVERY == 0
                who = user(p, e)
                changes.append(Change(f"{p:04d}{e:036d}", f"{who}@example.com", who, f"work {e}", who,
                                      None if pending else who, None if pending else CUT))
            candidate = Candidate(
                id=0, product=f"p{p:03d}", version="2026.11.17-rc1", state=CandidateState.VERIFYING, trigger=Trigger.DAILY,
                release_manager=user(p, 1), head_sha="a" * 40, base_sha=None, created_at=CUT, created_by=None,
                changes=tuple(changes),
            )
            candidates.insert(session, candidate)
            recipients = set()
            for e in range(0, ENGINEERS, PENDING_EVERY):
                away = e % AWAY_EVERY == 0
                if away:
                    people_store.set_away(session, Away(user(p, e), NOW + dt.timedelta(days=2), user(p, e + 2), CUT))
                verifier = user(p, e + 2) if away else user(p, e)
                if TIMEZONES[(e + 2 if away else e) % len(TIMEZONES)] != "Europe/Berlin":
                    recipients.add(verifier)
            expected += len(recipients)
        for p in range(PRODUCTS):
            for e in range(ENGINEERS):
                remember_user(session, SlackUser(user(p, e), user(p, e), None, TIMEZONES[e % len(TIMEZONES)], False, False), CUT)
    return expected


def config() -> Config:
    products = [
        {"key": f"p{p:03d}", "name": f"Product {p}", "channel": f"C0P{p:03d}", "repository": "/nonexistent"}
        for p in range(PRODUCTS)
    ]
    return Config.model_validate({"admins": ["U0ADMIN"], "products": products})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL of a PostgreSQL database to empty and use")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="releasebot-bench-") as tmp:
        url = bench_database(args.database_url, tmp)
        print(f"database: {url if args.database_url else 'SQLite in ' + tmp}")
        db = Database(url)
        db.upgrade()
        started = time.perf_counter()
        expected = seed(db)
        print(f"seeded {PRODUCTS} products x {ENGINEERS} engineers in {time.perf_counter() - started:.1f} s")
        fake = FakeSlack()
        fake.start()
        try:
            runtime = make_runtime(db, fake, config(), FixedClock(NOW))
            first_s, first = timed(runtime)
            runtime.clock.advance(minutes=1)
            second_s, second = timed(runtime)
            calls = len(fake.calls())
        finally:
            fake.stop()
        with db.reading() as session:
            owed, _ = outbox.backlog(session)
        db.dispose()
    engineers = PRODUCTS * ENGINEERS
    print(f"engineers: {engineers}, pending: {engineers // PENDING_EVERY}, reminders due now: {expected}")
    print(f"first round: {first_s:.2f} s ({first}); owed messages: {owed}")
    print(f"second round: {second_s:.2f} s ({second})")
    print(f"Slack calls made by the rounds: {calls}")
    return print_summary([
        (f"first round {first_s:.2f} s < {ROUND_TARGET_S:.0f} s", first_s < ROUND_TARGET_S),
        (f"second round {second_s:.2f} s < {ROUND_TARGET_S:.0f} s", second_s < ROUND_TARGET_S),
        (f"one direct message per person with something due ({owed} owed, {expected} due)", owed == expected),
        (f"no Slack call in a round ({calls})", calls == 0),
    ])


def timed(runtime) -> tuple[float, str]:
    started = time.perf_counter()
    summary = asyncio.run(run_job(runtime, "reminders"))
    return time.perf_counter() - started, summary


if __name__ == "__main__":
    sys.exit(main())
