"""The weekly digest (its schedule across DST, once across replicas, made up the same day only, what
it says and how it is escaped) and the figures' two surfaces: `/rc stats` and the stats API."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace

import httpx
import pytest

from bot.clock import FixedClock
from bot.config import Config
from bot.flags import service as flags
from bot.flags.model import FlagType
from bot.people import digest
from bot.release import freezes, releasing
from bot.release.model import ReleaseException
from bot.release.releasing import ReleaseRequest
from bot.scheduler import _digest_trigger, run_job
from bot.slack.blocks.digest import digest_blocks
from bot.slack.fake import SlackDriver
from bot.slack.fake.validation import blocks_text_length, message_block_errors
from storage import jobs
from tests.conftest import API_TOKEN, BASE_CONFIG, SIGNING_SECRET, make_runtime
from tests.harness import start_bot
from tests.test_slack_door import wait_for
from tests.test_stats import NOW, History_, at, build, flag_switch

UTC = dt.timezone.utc
FRIDAY_LATE = dt.datetime(2026, 11, 20, 21, 0, tzinfo=UTC)  # Friday 16:00 EST, after the digest time
CONFIG = Config.model_validate(BASE_CONFIG)


def digests(fake, channel: str = "C0CHECKOUT") -> list[dict]:
    return [m for m in fake.messages(channel) if m.get("text", "").startswith("Weekly digest")]


@pytest.mark.parametrize(
    "instant, key",
    [
        (dt.datetime(2026, 10, 30, 18, 59, tzinfo=UTC), None),  # Friday 14:59 EDT
        (dt.datetime(2026, 10, 30, 19, 0, tzinfo=UTC), "2026-W44"),  # Friday 15:00 EDT
        (dt.datetime(2026, 11, 6, 19, 0, tzinfo=UTC), None),  # Friday 14:00 EST: DST has ended
        (dt.datetime(2026, 11, 6, 20, 0, tzinfo=UTC), "2026-W45"),  # Friday 15:00 EST
        (dt.datetime(2026, 11, 7, 4, 30, tzinfo=UTC), "2026-W45"),  # still Friday evening in New York
        (dt.datetime(2026, 11, 7, 15, 0, tzinfo=UTC), None),  # Saturday: a missed digest is not made up
        (dt.datetime(2026, 11, 5, 20, 0, tzinfo=UTC), None),  # Thursday
    ],
)
def test_the_digest_run_is_the_week_once_friday_three_pm_new_york_has_come(instant, key):
    assert digest.run_key(CONFIG, instant) == key


@pytest.mark.parametrize(
    "after, expected",
    [
        (dt.datetime(2026, 10, 30, 12, 0, tzinfo=UTC), dt.datetime(2026, 10, 30, 19, 0, tzinfo=UTC)),  # 15:00 EDT
        (dt.datetime(2026, 10, 30, 19, 30, tzinfo=UTC), dt.datetime(2026, 11, 6, 20, 0, tzinfo=UTC)),  # 15:00 EST
    ],
)
def test_the_digest_fires_at_three_pm_new_york_time_across_dst(after, expected):
    trigger = _digest_trigger(SimpleNamespace(config=CONFIG, clock=FixedClock(after)))
    assert trigger.get_next_fire_time(None, after).astimezone(UTC) == expected


def test_the_week_starts_at_the_digest_time_a_week_before_across_dst():
    assert digest.week_start(CONFIG, dt.datetime(2026, 11, 6, 20, 0, tzinfo=UTC)) == dt.datetime(2026, 10, 30, 19, 0, tzinfo=UTC)


def test_two_replicas_started_late_on_friday_post_one_digest_per_channel(db, fake_slack):
    bots = [start_bot(make_runtime(db, fake_slack, CONFIG, FixedClock(FRIDAY_LATE)), run_scheduler=True) for _ in range(2)]
    try:
        wait_for(lambda: digests(fake_slack) and digests(fake_slack, "C0SEARCH"), timeout=15)
        with db.reading() as session:
            assert jobs.is_claimed(session, "digest", "checkout", "2026-W47")
        for running in bots:  # each replica's own run of the week finds it claimed
            assert "already posted" in asyncio.run(run_job(running.runtime, "digest", scheduled=True))
    finally:
        for running in bots:
            running.stop()
    assert len(digests(fake_slack)) == 1 and len(digests(fake_slack, "C0SEARCH")) == 1


def test_a_bot_down_all_friday_does_not_post_the_digest_on_saturday(db, fake_slack):
    saturday = dt.datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    running = start_bot(make_runtime(db, fake_slack, CONFIG, FixedClock(saturday)), run_scheduler=True)
    try:
        assert asyncio.run(run_job(running.runtime, "digest", scheduled=True)) == "not the digest day, or before the digest time"
        with db.reading() as session:
            assert not jobs.is_claimed(session, "digest", "checkout", "2026-W47")
        assert "weekly digest owed to checkout" in asyncio.run(run_job(running.runtime, "digest", "checkout"))  # run-job: now
        wait_for(lambda: digests(fake_slack), timeout=10)
    finally:
        running.stop()
    assert digests(fake_slack, "C0SEARCH") == []


def the_week(db, config) -> None:
    """Monday 16 to Friday 20 November: a non-viable candidate, an exception release, a freeze, a
    kill switch in production. Typed text tries to ping the channel."""
    h = History_(db, config)
    h.release(h.cut(at(2, 14), at(2, 10)), at(3, 14))
    h.nonviable(h.cut(at(16, 14), at(16, 10)), at(16, 15), "<!channel> *empty*")
    candidate = h.cut(at(17, 14), at(17, 10))
    request = ReleaseRequest(config.product("checkout"), "U0DANA", exception=ReleaseException.PRODUCTION_DOWN, note="<!channel> pager")
    releasing.record_release(db, config, request, candidate, at(17, 15))
    freezes.start(db, config, "all", at(19, 5), "Thanksgiving <@U0LEAD>", "U0ADMIN", at(18, 14))
    flags.create(db, config, "basket", FlagType.RELEASE, "", "U0DANA", "checkout", at(19, 15))  # after the freeze
    flag_switch(db, config, "basket", "checkout", "production", "on", at(19, 15))
    flag_switch(db, config, "basket", "checkout", "production", "off", at(19, 16))


def test_the_digest_tells_the_week_and_the_figures_escaped_and_within_slack_limits(db, fake_slack, config):
    the_week(db, config)
    running = start_bot(make_runtime(db, fake_slack, config, FixedClock(NOW)))
    try:
        assert asyncio.run(run_job(running.runtime, "digest", scheduled=True)) == "weekly digest owed to checkout, search"
        wait_for(lambda: digests(fake_slack), timeout=10)
    finally:
        running.stop()
    [message] = digests(fake_slack)
    assert message["text"] == "Weekly digest of Checkout: 1 release this week."
    blocks = message["blocks"]
    assert len(blocks) <= 50 and blocks[0]["text"]["text"] == "Weekly digest: Checkout"
    body = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "• `2026.11.17-rc1` Tue 17 Nov 10:00, release manager <@U0DANA>" in body
    assert "• `2026.11.16-rc1` by <@U0DANA>: &lt;!channel&gt; *empty*" in body
    assert "• `2026.11.17-rc1`: Production is down (&lt;!channel&gt; pager), by <@U0DANA>" in body
    assert "• all products, Wed 18 Nov 09:00 to Thu 19 Nov 00:00, by <@U0ADMIN>: Thanksgiving &lt;@U0LEAD&gt;" in body
    assert "`basket` in production: turn on, by <@U0DANA>, approved by <@U0ADMIN>, Thu 19 Nov 10:00" in body
    assert "`basket` in production: turn off, by <@U0DANA>, Thu 19 Nov 11:00" in body
    assert "<!channel>" not in str(blocks)
    fields = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", [])]
    assert fields[0].startswith("*Deployment frequency*\n0.5 releases a week (2 in 30 days)")
    assert fields[2] == "*Change failure rate*\n0.0% (0 of 2 releases) · *elite*"  # the kill switch came 49 h after the release
    [search] = digests(fake_slack, "C0SEARCH")
    assert "No release this week." in str(search["blocks"])


def test_a_week_with_hundreds_of_events_still_fits():
    """Every list is capped in the payload and every section fitted, so Slack takes the message."""
    long = "x" * 3000
    entries = {"items": [{"version": long, "by": "U0DANA", "reason": long}] * 25, "more": 300}
    payload = {"product": long, "timezone": "America/New_York", "since": NOW.isoformat(), "until": NOW.isoformat(),
               "releases": entries, "nonviable": entries, "exceptions": entries, "freezes": entries, "flags": entries}
    blocks = digest_blocks(payload)
    assert message_block_errors(blocks) == []  # Slack's limits, as the emulator enforces them
    assert blocks_text_length(blocks) <= 12_000 and len(blocks[0]["text"]["text"]) <= 150
    assert blocks[2]["text"]["text"].endswith("…and 300 more")


# ---------------------------------------------------------------- /rc stats and the API


@pytest.fixture
def running(db, fake_slack, config):
    build(db, config)
    bot = start_bot(make_runtime(db, fake_slack, config, FixedClock(NOW)))
    yield bot
    bot.stop()


def stats_api(running, key: str = "checkout", token: str = API_TOKEN, **params) -> httpx.Response:
    return httpx.get(f"{running.url}/api/v1/products/{key}/stats", params=params, headers={"Authorization": f"Bearer {token}"})


def test_the_api_answers_each_figure_with_its_unit_and_band(running):
    answer = stats_api(running).json()
    assert answer["product"] == "checkout"
    assert answer["window"] == {"days": 30, "since": "2026-10-21T20:00:00+00:00", "until": "2026-11-20T20:00:00+00:00"}
    assert answer["deployment_frequency"] == {"value": 1.17, "unit": "releases per week", "per_day": 0.167, "releases": 5, "band": "high"}
    assert answer["lead_time_for_changes"] == {"median": 27.0, "p90": 52.0, "unit": "hours", "changes": 8, "band": "high"}
    rate = answer["change_failure_rate"]
    assert (rate["value"], rate["unit"], rate["failed"], rate["band"]) == (60.0, "percent", 3, "low")
    assert [f["signal"] for f in rate["failures"]] == ["urgent_cut", "non_viable", "kill_switch"]
    assert answer["time_to_restore"] == {"median": 4.0, "unit": "hours", "restored": 3, "unrestored": 0, "band": "high"}
    assert stats_api(running, days="7").json()["deployment_frequency"]["releases"] == 1


@pytest.mark.parametrize("days", ["0", "-1", "366", "abc", "", "2.5"])
def test_the_api_refuses_bad_days(running, days):
    response = stats_api(running, days=days)
    assert response.status_code == 400 and response.json()["error"] == "bad_days"


def test_the_api_needs_the_token_and_a_known_product(running):
    assert stats_api(running, token="wrong").status_code == 401
    assert stats_api(running, key="nope").status_code == 404


def answer(running, fake, text: str, channel: str = "C0CHECKOUT") -> str:
    before = len(fake.ephemerals(user="U0DANA"))
    with SlackDriver(running.events_url, SIGNING_SECRET, fake) as slack:
        response = slack.command("/rc", text, user_id="U0DANA", channel_id=channel)
    assert response.status_code == 200
    if response.content and response.headers.get("content-type", "").startswith("application/json"):
        return response.json()["text"]
    return wait_for(lambda: len(fake.ephemerals(user="U0DANA")) > before and fake.ephemerals(user="U0DANA"))[-1]["text"]


def test_rc_stats_answers_privately_for_the_channel_s_product_or_the_one_named(running, fake_slack):
    text = answer(running, fake_slack, "stats")
    assert text.startswith("*Delivery figures of Checkout, last 30 days*")
    assert "*Change failure rate:* 60.0% (3 of 5 releases) · *low*" in text
    assert "*Lead time for changes:* median 27.0 hours, p90 2.2 days (8 changes) · *high*" in text
    assert "elite 5% · high 20% · medium 10% · low 40%" in text
    assert "within 24.0 hours" in text
    assert answer(running, fake_slack, "stats checkout 7", "C0RANDOM").startswith("*Delivery figures of Checkout, last 7 days*")
    assert answer(running, fake_slack, "stats search", "C0RANDOM").startswith("*Delivery figures of Search, last 30 days*")
    assert not [m for m in fake_slack.messages("C0CHECKOUT") if "Delivery figures" in str(m)]  # nothing in the channel


@pytest.mark.parametrize("typed", ["stats 0", "stats -2", "stats 400", "stats <!channel>"])
def test_rc_stats_refuses_bad_days_in_plain_words(running, fake_slack, typed):
    text = answer(running, fake_slack, typed)
    assert "must be a whole number from 1 to 365" in text and "<!channel>" not in text
