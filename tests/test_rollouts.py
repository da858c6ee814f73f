"""Rollout plans end to end: /flag plan, the plan message's buttons in the fake Slack, the
`rollouts` job against a fake Prometheus, OFREP-visible flag changes and the plans API."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import httpx
import pytest

from bot.config import Config
from bot.flags import service as flags
from bot.flags.model import FlagType
from bot.rollouts import service as rollouts
from bot.scheduler import run_job
from storage import flags as flags_store
from tests.conftest import API_TOKEN, BASE_CONFIG, make_runtime
from tests.fake_prometheus import FakePrometheus
from tests.harness import start_bot
from tests.test_candidates import Rig
from tests.test_slack_door import wait_for
from bot.slack.fake import SlackDriver

SIGNING_SECRET = "test-signing-secret"
CHECKS = [
    {"name": "errors", "query": 'sum(rate(errors{flag="{flag}",env="{env}"}[5m]))', "max": 0.02, "on_fail": "rollback"},
    {"name": "latency", "query": 'p99_latency{flag="{flag}"}', "max": 0.5, "on_fail": "pause"},
]
STAGES = [
    {"name": "internal", "segments": ["internal"], "percent": 0, "bake": "1h"},
    {"name": "beta", "segments": ["beta"], "percent": 5, "bake": "1h"},
    {"name": "full", "percent": 100},
]


@pytest.fixture
def prometheus():
    fake = FakePrometheus().start()
    fake.set("errors", 0.001)
    fake.set("p99_latency", 0.1)
    yield fake
    fake.stop()


@pytest.fixture
def plans(db, fake_slack, clock, prometheus):
    for user in ("U0OPS", "U0PM"):
        fake_slack.add_user(user, name=user[2:].lower(), email=f"{user[2:].lower()}@example.com")
    flags = {
        **BASE_CONFIG["flags"],
        "segments": {**BASE_CONFIG["flags"]["segments"], "beta": {"in": ["beta", {"var": "groups"}]}},
        "approvers": {"technical": ["U0LEAD", "U0DANA"], "operations": ["U0OPS"], "product": ["U0PM"]},
        "prometheus_url": prometheus.url,
        "rollout_templates": {
            "standard": {"approvals": ["technical", "operations", "product"], "advance": "manual", "checks": CHECKS, "stages": STAGES},
            "quick": {"approvals": [], "advance": "auto", "checks": CHECKS, "stages": STAGES},
            "bare": {"advance": "manual", "stages": STAGES},
        },
    }
    runtime = make_runtime(db, fake_slack, Config.model_validate({**BASE_CONFIG, "flags": flags}), clock)
    running = start_bot(runtime)
    driver = SlackDriver(running.events_url, SIGNING_SECRET, fake_slack)
    rig = Rig(running, driver, fake_slack, None)
    yield rig
    driver.close()
    running.stop()


def flag(rig: Rig, text: str, user: str) -> str:
    return rig.command_of("/flag", text, user, "C0FLAGS")


def job(rig: Rig) -> str:
    summary = asyncio.run(run_job(rig.runtime, "rollouts"))
    rig.settled()
    return summary


def api(rig: Rig, key: str) -> list[dict]:
    response = httpx.get(rig.running.url + f"/api/v1/flags/{key}/plans", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert response.status_code == 200
    return response.json()["plans"]


def definition(rig: Rig, key: str, environment: str = "production") -> dict:
    with rig.runtime.db.reading() as session:
        return flags_store.get(session, key).definition(environment)


def plan_message(rig: Rig) -> dict:
    return wait_for(lambda: [m for m in rig.fake.messages("C0FLAGS") if "Rollout plan #" in m["text"]])[-1]


def labels(message: dict) -> list[str]:
    return [e["text"]["text"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_approvals_by_role_then_go_widen_the_flag_stage_by_stage(plans, clock, prometheus):
    flag(plans, "create new-pay", "U0DANA")
    answer = flag(plans, "plan new-pay standard production", "U0DANA")
    assert "Rollout plan #" in answer and "awaiting approval" in answer
    plans.settled()
    message = plan_message(plans)
    assert labels(message) == ["Approve as technical", "Approve as operations", "Approve as product", "Reject"]
    assert "You cannot approve or reject your own plan" in plans.click("U0DANA", "plan_approve:technical", message=message, channel_id="C0FLAGS")
    assert "You do not hold the operations role" in plans.click("U0LEAD", "plan_approve:operations", message=message, channel_id="C0FLAGS")
    plans.slack.block_action("U0LEAD", "plan_approve:technical", message=message, channel_id="C0FLAGS")
    wait_for(lambda: api(plans, "new-pay")[0]["approvals"])
    assert "already" in plans.click("U0LEAD", "plan_approve:technical", message=message, channel_id="C0FLAGS")
    plans.slack.block_action("U0OPS", "plan_approve:operations", message=message, channel_id="C0FLAGS")
    plans.slack.block_action("U0PM", "plan_approve:product", message=message, channel_id="C0FLAGS")
    [listed] = wait_for(lambda: [p for p in api(plans, "new-pay") if len(p["approvals"]) == 3])
    assert listed["approvals"] == [{"role": "technical", "user": "U0LEAD"}, {"role": "operations", "user": "U0OPS"}, {"role": "product", "user": "U0PM"}]

    job(plans)
    [listed] = api(plans, "new-pay")
    assert (listed["state"], listed["stage"]) == ("baking", "internal")
    assert definition(plans, "new-pay")["targeting"] == {"if": [{"$ref": "internal"}, "on", "off"]}
    with plans.runtime.db.reading() as session:
        assert flags_store.changes(session, "new-pay", 5)[0].actor == f"plan:{listed['id']}"
    job(plans)  # a second round (another replica, a restart) repeats nothing
    assert [e["kind"] for e in api(plans, "new-pay")[0]["events"]].count("stage_started") == 1

    clock.advance(hours=1)
    job(plans)
    assert api(plans, "new-pay")[0]["state"] == "awaiting_go"
    assert "Go" in labels(plan_message(plans)) and "No-go" in labels(plan_message(plans))
    plans.slack.block_action("U0OPS", "plan_go", message=plan_message(plans), channel_id="C0FLAGS")
    [listed] = wait_for(lambda: [p for p in api(plans, "new-pay") if p["stage"] == "beta"])  # Go starts the stage at once
    job(plans)
    rule = definition(plans, "new-pay")["targeting"]
    assert rule == {"if": [{"or": [{"$ref": "internal"}, {"$ref": "beta"}]}, "on", {"fractional": [["on", 5], ["off", 95]]}]}
    thread = [r["text"] for r in plans.fake.thread("C0FLAGS", plan_message(plans)["ts"])]
    assert any("approved as operations" in t for t in thread) and any("started stage *beta*" in t for t in thread), thread
    assert 'sum(rate(errors{flag="new-pay",env="production"}[5m]))' in prometheus.queries


def test_a_breach_rolls_back_and_no_data_pauses(plans, clock, prometheus):
    flag(plans, "create fast-pay", "U0DANA")
    flag(plans, "plan fast-pay quick production", "U0DANA")
    job(plans)
    clock.advance(hours=1)
    job(plans)
    assert api(plans, "fast-pay")[0]["stage"] == "beta"
    assert any('errors{flag="fast-pay",env="production"}' in q for q in prometheus.queries)

    prometheus.set("errors", 0.5)
    clock.advance(minutes=1)
    job(plans)
    [listed] = api(plans, "fast-pay")
    assert (listed["state"], listed["stage"]) == ("rolled_back", "internal")
    assert definition(plans, "fast-pay")["targeting"] == {"if": [{"$ref": "internal"}, "on", "off"]}
    dm = wait_for(lambda: [m for m in plans.fake.dms("U0DANA") if "halted" in m["text"]])
    assert "errors failed" in dm[-1]["text"]

    prometheus.set("errors", None)
    assert "resumed" not in flag(plans, "plan resume fast-pay production", "U0STRANGER")
    flag(plans, "plan resume fast-pay production", "U0DANA")
    clock.advance(minutes=1)
    job(plans)
    [listed] = api(plans, "fast-pay")
    assert listed["state"] == "paused" and "no answer: no data" in listed["events"][-1]["detail"]["reason"]


def test_flag_off_kills_the_flag_at_once_and_aborts_its_plan(plans, clock):
    flag(plans, "create kill-me", "U0DANA")
    flag(plans, "plan kill-me quick production", "U0DANA")
    job(plans)
    assert api(plans, "kill-me")[0]["state"] == "baking"
    flag(plans, "off kill-me production", "U0DANA")
    [listed] = api(plans, "kill-me")
    assert listed["state"] == "aborted"
    assert "targeting" not in definition(plans, "kill-me") and definition(plans, "kill-me")["defaultVariant"] == "off"
    clock.advance(hours=2)
    job(plans)
    assert "targeting" not in definition(plans, "kill-me")


def test_no_go_asks_why_and_halts_the_plan(plans, clock):
    flag(plans, "create nogo", "U0DANA")
    flag(plans, "plan nogo quick production", "U0DANA")
    job(plans)
    plans.settled()
    plans.slack.block_action("U0LEAD", "plan_no_go", message=plan_message(plans), channel_id="C0FLAGS")
    wait_for(lambda: plans.fake.views(user="U0LEAD"))
    response = plans.slack.view_submission("U0LEAD", "plan_reason_view", {"plan_reason": {"reason": "support is short-staffed"}}, private_metadata=f"no_go:{api(plans, 'nogo')[0]['id']}")
    assert response.status_code == 200 and not response.content, response.text
    [listed] = api(plans, "nogo")
    assert listed["state"] == "paused" and listed["events"][-1]["detail"]["reason"] == "support is short-staffed"
    assert "a rollout plan in production" in flag(plans, "plan nogo quick production", "U0DANA")
    assert "Only the plan's owner" in flag(plans, "plan abort nogo production", "U0LEAD")
    flag(plans, "plan abort nogo production", "U0ADMIN")
    assert api(plans, "nogo")[0]["state"] == "aborted"
    flag(plans, "plan nogo quick production", "U0DANA")
    assert [p["state"] for p in api(plans, "nogo")] == ["baking", "aborted"]  # newest first


def test_three_replicas_racing_move_a_plan_once(db, clock):
    settings = {**BASE_CONFIG, "flags": {**BASE_CONFIG["flags"], "rollout_templates": {"quick": {"advance": "auto", "stages": STAGES}}}}
    config = Config.model_validate(settings)
    flags.create(db, config, "raced", FlagType.RELEASE, "", "U0DANA", None, clock.now())
    plan_id = rollouts.create(db, config, "raced", "quick", "production", "U0DANA", clock.now()).stored.plan.id
    later = clock.now() + dt.timedelta(hours=1)
    barrier, moved = threading.Barrier(3), []

    def replica() -> None:
        barrier.wait()
        try:
            moved.append(rollouts.advance(db, config, plan_id, later)[0])
        except rollouts.Moved:
            moved.append("lost the race")

    threads = [threading.Thread(target=replica) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(moved) == 3 and moved.count("stage_started") == 1  # the others found nothing due, or lost the race
    kinds = [e.kind for e in rollouts.view(db, config, plan_id, later).events]
    assert kinds == ["created", "stage_started", "stage_started"]
    with db.reading() as session:
        assert [c.actor for c in flags_store.changes(session, "raced", 10)].count(f"plan:{plan_id}") == 2


def test_a_freeze_holds_a_plan_and_it_goes_on_when_the_freeze_ends(plans, clock):
    flag(plans, "create frozen-pay", "U0DANA")
    flag(plans, "plan frozen-pay quick production", "U0DANA")
    plans.command_of("/freeze", "start 2h incident review all", "U0ADMIN", "C0FLAGS")
    clock.advance(hours=1)
    job(plans)
    [listed] = api(plans, "frozen-pay")
    assert (listed["state"], listed["stage"]) == ("paused", "internal")
    assert "goes on by itself when the freeze ends" in flag(plans, "plan resume frozen-pay production", "U0DANA")
    clock.advance(hours=1, minutes=1)
    job(plans)
    assert api(plans, "frozen-pay")[0]["stage"] == "beta"


def test_a_bake_ending_shows_go_on_the_message_without_any_check(plans, clock):
    flag(plans, "create bare-pay", "U0DANA")
    flag(plans, "plan bare-pay bare production", "U0DANA")
    plans.settled()
    assert labels(plan_message(plans)) == ["No-go"]
    clock.advance(hours=1)
    job(plans)
    assert labels(plan_message(plans)) == ["Go", "No-go"]
    assert "awaiting Go" in plan_message(plans)["text"]


def test_an_interrupted_thread_post_is_found_by_its_tag_and_not_doubled(plans, clock):
    from slack_sdk import WebClient

    from bot.slack.recovery import tag
    from storage import outbox
    from storage.models import OutboxRow

    flag(plans, "create crashy", "U0DANA")
    flag(plans, "plan crashy bare production", "U0DANA")
    plans.settled()
    message = plan_message(plans)
    plan_id = api(plans, "crashy")[0]["id"]
    line = {"event": "plan_event", "kind": "go", "by": "U0LEAD", "plan_id": plan_id}
    with plans.runtime.db.transaction() as session:
        outbox.enqueue(session, f"plan:{plan_id}", "plan_thread", line, clock.now())
        item = session.query(OutboxRow).order_by(OutboxRow.id.desc()).first()
        item.sending_since, item.next_attempt_at = clock.now(), clock.now() + dt.timedelta(minutes=1)
        session.flush()
        posted = outbox.OutboxItem(item.id, item.lane, item.kind, None, item.payload, 0, item.next_attempt_at, item.created_at, item.sending_since)
    # Slack took the post, then the process died before recording it
    WebClient(token=plans.fake.bot_token, base_url=plans.fake.api_url + "/").chat_postMessage(
        channel="C0FLAGS", thread_ts=message["ts"], text="<@U0LEAD> said Go.", metadata=tag(posted)
    )
    clock.advance(minutes=2)
    plans.runtime.wake_delivery()
    plans.settled()
    thread = [r["text"] for r in plans.fake.thread("C0FLAGS", message["ts"])]
    assert thread.count("<@U0LEAD> said Go.") == 1
