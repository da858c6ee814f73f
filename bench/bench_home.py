"""App Home benchmark: how soon the Home is published after `app_home_opened`, for a busy person.

Dana works on 10 products: in each candidate in progress she has changes of her own and a
teammate's delegated to her (20 pending items), she is release manager of all 10, 30 flag changes
wait for her approval and she owns 60 flags. The signed event goes to the real bot over HTTP; the
time is taken from the moment it is sent to the moment the fake Slack receives `views.publish`
(the fake's own arrival time), so it covers the ack, the database reads, the rendering and the
call to Slack, as a person waiting for the tab sees it. The same is timed for a person with
nothing on their Home, as a floor.

    python -m bench.bench_home [--database-url postgresql+psycopg://…] [--opens N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.report import print_summary
from bot.clock import FixedClock
from bot.flags import service as flags
from bot.flags.model import FlagType
from bot.release import signoffs
from bot.slack.fake import FakeSlack, SlackDriver
from bot.slack.fake.validation import view_errors
from storage import Database
from storage.slack_users import SlackUser
from tests.conftest import BASE_CONFIG, SIGNING_SECRET, START, make_runtime, reset_postgres
from tests.harness import start_bot
from tests.home_rig import add_channels, cut, products_config, settled

DANA, LEAD, ADMIN, STRANGER = "U0DANA", "U0LEAD", "U0ADMIN", "U0STRANGER"
PRODUCTS, FLAGS, REQUESTS = 10, 60, 30
OPENS = 40
TARGET_MS = 300.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def open_and_time(driver: SlackDriver, fake: FakeSlack, user: str) -> float:
    """Milliseconds from sending app_home_opened to the fake receiving the views.publish it causes."""
    before = len(fake.calls("views.publish"))
    sent = time.time()
    response = driver.event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 10
    while len(fake.calls("views.publish")) == before:
        if time.monotonic() > deadline:
            raise RuntimeError("the Home was never published")
        time.sleep(0.001)
    call = fake.calls("views.publish")[before]
    if call["error"] or call["status"] != 200:
        raise RuntimeError(f"views.publish refused: {call['error'] or call['status']}")
    return (call["time"] - sent) * 1000


def build_state(runtime) -> None:
    now = runtime.clock.now()
    dana = SlackUser(DANA, "dana", None, None, False, False)
    for product in runtime.config.products:
        candidate = cut(runtime, product.key, {DANA: 3, LEAD: 2, STRANGER: 1}, manager=DANA)
        signoffs.delegate(runtime.db, runtime.config, candidate.id, LEAD, dana, now)
    for n in range(FLAGS):
        key = f"checkout-flag-{n:02d}"
        flags.create(runtime.db, runtime.config, key, FlagType.RELEASE, "", DANA, None, now)
        if n < REQUESTS:
            flags.change(runtime.db, runtime.config, key, "production", {"op": "rollout", "percent": 25}, LEAD, now)
    runtime.wake_delivery()
    settled(runtime, timeout=120)


def run(database_url: str | None, workdir: Path, opens: int) -> dict:
    if database_url:
        reset_postgres(database_url)
    db = Database(database_url or f"sqlite:///{workdir}/home.db")
    db.upgrade()
    fake = FakeSlack().start()
    for user in (DANA, LEAD, ADMIN, STRANGER):
        fake.add_user(user, name=user[2:].lower(), email=f"{user[2:].lower()}@example.com", tz="America/New_York")
    config = products_config(PRODUCTS, BASE_CONFIG)
    add_channels(fake, config, (DANA, LEAD, ADMIN, STRANGER))
    runtime = make_runtime(db, fake, config, FixedClock(START))
    running = start_bot(runtime)
    driver = SlackDriver(running.events_url, SIGNING_SECRET, fake)
    try:
        build_state(runtime)
        open_and_time(driver, fake, DANA)  # warm-up: first connections, imports, caches
        busy = [open_and_time(driver, fake, DANA) for _ in range(opens)]
        empty = [open_and_time(driver, fake, STRANGER) for _ in range(opens)]
        home = fake.home(DANA)
        view = {"type": "home", "blocks": home["blocks"]}
        return {"busy": busy, "empty": empty, "blocks": len(home["blocks"]), "valid": view_errors(view, {"home"}) == []}
    finally:
        driver.close()
        running.stop()
        fake.stop()
        db.dispose()


def describe(label: str, values: list[float]) -> str:
    return (
        f"  {label:<58} median {statistics.median(values):6.1f} ms  p90 {percentile(values, 0.9):6.1f} ms"
        f"  max {max(values):6.1f} ms  ({len(values)} opens)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLAlchemy URL of a PostgreSQL database to empty and use")
    parser.add_argument("--opens", type=int, default=OPENS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="releasebot-bench-") as tmp:
        print(f"database: {args.database_url or 'SQLite in ' + tmp}")
        figures = run(args.database_url, Path(tmp), args.opens)
    print("app_home_opened → views.publish received by the fake")
    print(describe(f"20 pending items on {PRODUCTS} products, {REQUESTS} requests, {FLAGS} flags", figures["busy"]))
    print(describe("nothing on the Home", figures["empty"]))
    print(f"  the busy Home: {figures['blocks']} blocks, valid in the fake's view validation: {'yes' if figures['valid'] else 'NO'}")
    p90 = percentile(figures["busy"], 0.9)
    return print_summary([
        (f"busy Home published within {TARGET_MS:.0f} ms of app_home_opened (p90 {p90:.1f} ms)", p90 < TARGET_MS),
        (f"busy Home under 100 blocks and valid ({figures['blocks']} blocks)", figures["blocks"] < 100 and figures["valid"]),
    ])


if __name__ == "__main__":
    sys.exit(main())
