"""The demo's sample world: people in several time zones, products with git repositories, the
configuration that ties them together, and new commits on demand. Everything is dated from the
demo's clock, so the first cut always finds recent changes."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.clock import Clock
from bot.config import Config
from bot.release.hours import ReleaseWindow
from bot.slack.fake import FakeSlack


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    real_name: str
    tz: str

    @property
    def email(self) -> str:
        return f"{self.name}@demo.example"


PEOPLE = (
    Person("U01ANA", "ana", "Ana Souza", "America/New_York"),
    Person("U01BEN", "ben", "Ben Okafor", "Europe/London"),
    Person("U01CHEN", "chen", "Chen Wei", "Asia/Singapore"),
    Person("U01DIVYA", "divya", "Divya Rao", "Asia/Kolkata"),
    Person("U01EMMA", "emma", "Emma Larsen", "Europe/Berlin"),
    Person("U01FELIX", "felix", "Felix Moreno", "America/Los_Angeles"),
)
ADMIN = "U01EMMA"
# Authors Slack does not know: their changes are verified by the release manager.
STRANGERS = (("Sam Rivera", "sam@contractor.example"), ("Kim Park", "kim@agency.example"))
FLAGS_CHANNEL = ("C01FLAGS", "feature-flags")


@dataclass(frozen=True)
class SampleProduct:
    key: str
    name: str
    channel: str
    channel_name: str
    authors: tuple[str, ...]  # people's names, or the strangers' emails
    subjects: tuple[str, ...]


PRODUCTS = (
    SampleProduct(
        "checkout", "Checkout", "C01CHECKOUT", "checkout-releases", ("ana", "ben", "chen", "sam@contractor.example"),
        ("Apple Pay button on the cart page", "Fix rounding of Swiss franc totals", "Retry card declines once",
         "Bump stripe-sdk to 12.4", "Faster address autocomplete", "Show delivery dates in the basket"),
    ),
    SampleProduct(
        "search", "Search", "C01SEARCH", "search-releases", ("divya", "felix", "ana"),
        ("Typo tolerance for brand names", "Cache facet counts for an hour", "Rank in-stock items first",
         "Log zero-result queries", "Synonyms for sizes (XL = extra large)"),
    ),
    SampleProduct(
        "payments", "Payments", "C01PAYMENTS", "payments-releases", ("ben", "emma", "kim@agency.example"),
        ("Idempotency keys on refunds", "SEPA mandate reminders", "Reconcile payouts nightly",
         "Mask IBANs in logs", "3-D Secure v2 challenge flow"),
    ),
)


def person(user_id: str) -> Person | None:
    return next((p for p in PEOPLE if p.id == user_id), None)


def settings(root: Path) -> dict:
    """The configuration file's content; the repositories live under `root`."""
    return {
        "release_hours": {"timezone": "America/New_York", "days": ["mon", "tue", "wed", "thu"],
                          "start": "08:00", "end": "16:00", "holidays": "US"},
        "daily_candidates": {"time": "09:00", "days": ["mon", "tue", "wed", "thu", "fri"]},
        "release_manager": {"preferred_timezone": "America/New_York"},
        "admins": [ADMIN],
        "products": [
            {"key": p.key, "name": p.name, "channel": p.channel, "repository": str(root / "repos" / p.key), "branch": "main"}
            for p in PRODUCTS
        ],
        "flags": {"environments": ["staging", "production"], "default_environment": "staging",
                  "protected": ["production"], "channel": FLAGS_CHANNEL[0]},
    }


def start_instant(config: Config, wall_now: dt.datetime) -> dt.datetime:
    """Half an hour before the daily cut on the next day releases may go out: one step of the
    clock away from the cut, inside release hours."""
    window = ReleaseWindow(config.release_hours)
    cut = config.daily_candidates.time
    day = wall_now.astimezone(window.zone).date()
    for _ in range(30):
        start = dt.datetime.combine(day, cut, window.zone) - dt.timedelta(minutes=30)
        if window.day_problem(day) is None and start >= wall_now:
            return start.astimezone(dt.timezone.utc)
        day += dt.timedelta(days=1)
    return wall_now


def seed_workspace(fake: FakeSlack) -> None:
    members = tuple(p.id for p in PEOPLE)
    for p in PEOPLE:
        fake.add_user(p.id, name=p.name, real_name=p.real_name, email=p.email, tz=p.tz)
    for product in PRODUCTS:
        fake.add_channel(product.channel, name=product.channel_name, members=members)
    fake.add_channel(FLAGS_CHANNEL[0], name=FLAGS_CHANNEL[1], members=members)


class SampleRepos:
    """One git repository per product, with commits by the sample authors."""

    def __init__(self, root: Path, clock: Clock, rng: random.Random | None = None):
        self.root = root / "repos"
        self.clock = clock
        self.rng = rng or random.Random(13)
        self._count = 0

    def create(self) -> None:
        """A few days of history: each product's authors commit in turn, hours apart."""
        now = self.clock.now()
        for product in PRODUCTS:
            path = self.root / product.key
            path.mkdir(parents=True)
            self._git(path, "init", "-q", "-b", "main")
            for index, author in enumerate(product.authors):
                when = now - dt.timedelta(days=2, hours=3) + dt.timedelta(hours=7 * index)
                self._commit(path, product.subjects[index % len(product.subjects)], author, when)

    def add_commits(self, count: int = 2) -> int:
        """`count` new commits per product by its authors, dated now; the next cut picks them up."""
        now = self.clock.now()
        for product in PRODUCTS:
            for index in range(count):
                author = self.rng.choice(product.authors)
                subject = self.rng.choice(product.subjects)
                self._commit(self.root / product.key, f"{subject} (follow-up)", author, now - dt.timedelta(minutes=count - index))
        return count * len(PRODUCTS)

    def _commit(self, path: Path, subject: str, author: str, when: dt.datetime) -> None:
        self._count += 1
        (path / f"change-{self._count}.txt").write_text(subject + "\n")
        self._git(path, "add", ".")
        if "@" in author:
            name, email = next(s for s in STRANGERS if s[1] == author)
        else:
            sample = next(p for p in PEOPLE if p.name == author)
            name, email = sample.real_name, sample.email
        stamp = when.isoformat()
        env = {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": stamp,
               "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": stamp}
        self._git(path, "commit", "-q", "-m", subject, env=env)

    @staticmethod
    def _git(path: Path, *args: str, env: dict[str, str] | None = None) -> None:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=path, check=True, capture_output=True,
                       env={**clean, "HOME": str(path), **(env or {})})


def write_config(root: Path) -> tuple[Path, Config]:
    path = root / "releasebot.yml"
    content = settings(root)
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path, Config.model_validate(content)
