"""Fixtures: real databases (SQLite, and PostgreSQL when RELEASEBOT_TEST_POSTGRES is set), the fake
Slack Web API, and the real bot serving HTTP on a free port."""

from __future__ import annotations

import datetime as dt
import os
import random

import pytest
from sqlalchemy import create_engine, text

from bot.clock import FixedClock
from bot.config import Config, Environment
from bot.runtime import Runtime
from bot.slack.client import make_client
from bot.slack.pacing import Pacer
from storage import Database
from tests.harness import start_bot
from bot.slack.fake import FakeSlack, SlackDriver

POSTGRES_URL = os.environ.get("RELEASEBOT_TEST_POSTGRES")
SIGNING_SECRET = "test-signing-secret"
API_TOKEN = "test-api-token"
# A Tuesday morning in New York, inside release hours.
START = dt.datetime(2026, 11, 17, 14, 0, tzinfo=dt.timezone.utc)

BASE_CONFIG = {
    "admins": ["U0ADMIN"],
    "products": [
        {"key": "checkout", "name": "Checkout", "channel": "C0CHECKOUT", "repository": "/nonexistent", "admins": ["U0LEAD"]},
        {"key": "search", "name": "Search", "channel": "C0SEARCH", "repository": "/nonexistent"},
    ],
    "people": {"dana@example.com": "U0DANA"},
    "flags": {"channel": "C0FLAGS", "segments": {"internal": {"ends_with": [{"var": "email"}, "@example.com"]}}},
}


def reset_postgres(url: str) -> None:
    """Each test starts from an empty schema; an unreachable server fails the test, never skips it."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/releasebot.db"
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need RELEASEBOT_TEST_POSTGRES (set by .ci/run)")
    reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def fake_slack():
    fake = FakeSlack()
    fake.start()
    for user, tz in (("U0DANA", "America/New_York"), ("U0ADMIN", "America/New_York"), ("U0LEAD", "Europe/Berlin")):
        fake.add_user(user, name=user[2:].lower(), email=f"{user[2:].lower()}@example.com", tz=tz)
    fake.add_user("U0STRANGER", name="stranger", tz="Asia/Tokyo")
    for channel in ("C0CHECKOUT", "C0SEARCH", "C0FLAGS", "C0RANDOM"):
        fake.add_channel(channel, members=("U0DANA", "U0ADMIN", "U0LEAD", "U0STRANGER"))
    yield fake
    fake.stop()


@pytest.fixture
def config() -> Config:
    return Config.model_validate(BASE_CONFIG)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def make_runtime(db: Database, fake: FakeSlack, config: Config, clock, *, api_token: str | None = API_TOKEN) -> Runtime:
    env = Environment(
        slack_bot_token=fake.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token=fake.app_token,
        slack_api_url=fake.api_url,
        database_url=db.url.render_as_string(hide_password=False),
        config_path="releasebot.yml",
        api_token=api_token,
    )
    slack = make_client(env.slack_bot_token, env.slack_api_url, max_retries=1)
    # Slack's Tier 3 pace (50 look-ups a minute) would make a 120-author cut wait minutes of real
    # time; the emulator rate-limits only when a test asks it to, and tests/test_lookup_pacing.py
    # sets its own pacer.
    unpaced = Pacer(per_second=10_000, burst=10_000)
    return Runtime(env=env, config=config, db=db, slack=slack, clock=clock, rng=random.Random(7), lookup_pacer=unpaced)


@pytest.fixture
def runtime(db, fake_slack, config, clock) -> Runtime:
    return make_runtime(db, fake_slack, config, clock)


@pytest.fixture
def bot(runtime):
    running = start_bot(runtime)
    yield running
    running.stop()


@pytest.fixture
def slack(bot, fake_slack) -> SlackDriver:
    return SlackDriver(bot.events_url, SIGNING_SECRET, fake_slack)
