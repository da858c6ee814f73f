"""Building a person's App Home state quickly: candidates recorded straight from commits (no git),
flags through their service, and the real bot and fake Slack to open and click the Home."""

from __future__ import annotations

import datetime as dt
import hashlib

from bot.config import Config
from bot.release import service
from bot.release.model import Candidate, Commit, Trigger
from bot.release.service import CutRequest
from bot.runtime import Runtime
from bot.slack.fake import FakeSlack, SlackDriver
from storage import outbox
from storage.slack_users import SlackUser
from tests.test_slack_door import wait_for


def products_config(count: int, base: dict) -> Config:
    products = [
        {"key": f"product-{n}", "name": f"Product {n}", "channel": f"C0PROD{n:02d}", "repository": "/nonexistent"}
        for n in range(count)
    ]
    return Config.model_validate({**base, "products": products})


def add_channels(fake: FakeSlack, config: Config, members: tuple[str, ...]) -> None:
    for channel in [p.channel for p in config.products] + [config.flags.channel]:
        if channel and fake.channel(channel) is None:
            fake.add_channel(channel, members=members)


def cut(runtime: Runtime, product_key: str, changes: dict[str, int], manager: str) -> Candidate:
    """A manual cut by `manager` (so its release manager) with `changes[user]` commits by each user."""
    now = runtime.clock.now()
    commits, authors, people = [], {}, {}
    for user, count in changes.items():
        email = f"{user[2:].lower()}@example.com"
        authors[email] = user
        people[user] = SlackUser(user, user[2:].lower(), email, "America/New_York", False, False)
        for n in range(count):
            sha = hashlib.sha1(f"{product_key}{user}{n}{now}".encode()).hexdigest()
            commits.append(Commit(sha, email, user[2:].title(), f"Change {n} by {user}", now))
    request = CutRequest(product=runtime.config.product(product_key), trigger=Trigger.MANUAL, actor=manager)
    outcome = service.record_cut(
        runtime.db, runtime.config, request, commits[-1].sha, None, commits, authors, people, now, runtime.rng
    )
    runtime.wake_delivery()
    return outcome.candidate


def settled(runtime: Runtime, timeout: float = 10.0) -> None:
    def empty():
        with runtime.db.reading() as session:
            return outbox.backlog(session)[0] == 0

    wait_for(empty, timeout)


def open_home(slack: SlackDriver, fake: FakeSlack, user: str) -> dict:
    """Send app_home_opened and return the Home the bot publishes in answer."""
    before = len(fake.calls("views.publish"))
    assert slack.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"}).status_code == 200
    wait_for(lambda: len(fake.calls("views.publish")) > before)
    return fake.home(user)


def text_of(view: dict) -> str:
    """Every text of the view's blocks, one per line (a section's lines stay lines)."""
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("text"), str):
                found.append(value["text"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(view["blocks"])
    return "\n".join(found)


def action_ids(view: dict) -> list[str]:
    return [
        element["action_id"]
        for block in view["blocks"]
        for element in (block.get("elements") or []) + ([block["accessory"]] if "accessory" in block else [])
        if "action_id" in element
    ]


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)
