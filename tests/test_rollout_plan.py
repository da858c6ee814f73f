"""The plan state machine, pure: every state from recorded facts and an injected instant."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import ReleaseHours
from bot.flags.definitions import initial
from bot.flags.evaluation import evaluate
from bot.flags.model import FlagSnapshot
from bot.release.hours import Freeze, ReleaseWindow
from bot.rollouts.plan import (
    Check, CheckResult, Event, Facts, Plan, Stage, Template, refusal, stage_audience, stage_definition, state_of,
)

UTC = dt.timezone.utc
TUESDAY = dt.datetime(2026, 3, 3, 15, 0, tzinfo=UTC)  # 10:00 in New York, inside the release hours
WINDOW = ReleaseWindow(ReleaseHours())
APPROVERS = {"technical": ["U0LEAD"], "operations": ["U0OPS"], "product": ["U0PM"]}
ERRORS = Check("errors", "sum(errors)", max=0.02, on_fail="rollback")
LATENCY = Check("latency", "p99", max=0.5, on_fail="pause")
STAGES = (
    Stage("internal", ("internal",), 0, dt.timedelta(days=1)),
    Stage("beta", ("beta",), 5, dt.timedelta(hours=2)),
    Stage("gradual", (), 25, dt.timedelta(hours=2)),
    Stage("full", (), 100),
)


def plan(advance: str = "manual", checks=(ERRORS, LATENCY), approvals=("technical", "operations", "product")) -> Plan:
    template = Template(tuple(approvals), advance, tuple(checks), STAGES)
    return Plan(1, "checkout.new", "production", "standard", template, "U0DEV", TUESDAY, "checkout")


def ev(at: dt.datetime, kind: str, actor: str = "bot", **detail) -> Event:
    return Event(at, kind, actor, detail)


APPROVED = (
    ev(TUESDAY, "created", "U0DEV"),
    ev(TUESDAY, "approved", "U0LEAD", role="technical"),
    ev(TUESDAY, "approved", "U0OPS", role="operations"),
    ev(TUESDAY, "approved", "U0PM", role="product"),
)


def passing(*names: str) -> tuple[CheckResult, ...]:
    return tuple(CheckResult(n, 0.001, True, False, "ok") for n in names or ("errors", "latency"))


def test_a_plan_waits_for_each_role_then_starts_its_first_stage_inside_the_hours():
    status = state_of(plan(), Facts(APPROVED[:2]), TUESDAY, WINDOW)
    assert status.state == "awaiting_approval" and status.missing_roles == ("operations", "product")
    status = state_of(plan(), Facts(APPROVED), TUESDAY, WINDOW)
    assert status.due.action == "start" and status.due.stage == 0
    assert status.approvals == (("technical", "U0LEAD"), ("operations", "U0OPS"), ("product", "U0PM"))


@pytest.mark.parametrize(
    "now, opens, why",
    [
        (dt.datetime(2026, 3, 3, 22, 0, tzinfo=UTC), dt.datetime(2026, 3, 4, 13, 0, tzinfo=UTC), "outside release hours"),
        (dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC), dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC), "no production releases on Fridays"),
        (dt.datetime(2026, 5, 25, 14, 0, tzinfo=UTC), dt.datetime(2026, 5, 26, 12, 0, tzinfo=UTC), "is a holiday (Memorial Day)"),
    ],
)
def test_outside_the_release_hours_a_stage_waits_for_the_window_and_says_when_it_opens(now, opens, why):
    status = state_of(plan(), Facts(APPROVED), now, WINDOW)
    assert status.state == "waiting_window" and status.due is None
    assert status.opens_at == opens and why in status.reason and "the release hours open" in status.reason


def test_a_freeze_pauses_a_plan_and_it_goes_on_when_the_freeze_ends():
    freeze = Freeze(1, "checkout", TUESDAY - dt.timedelta(hours=1), TUESDAY + dt.timedelta(hours=2), "incident", "U0ADMIN")
    status = state_of(plan(), Facts(APPROVED, freezes=(freeze,)), TUESDAY, WINDOW)
    assert status.state == "paused" and status.frozen and "change freeze" in status.reason and status.due is None
    assert refusal(plan(), status, "resume", "U0DEV", APPROVERS, False).startswith("A change freeze holds")
    later = TUESDAY + dt.timedelta(hours=2)
    assert state_of(plan(), Facts(APPROVED, freezes=(freeze,)), later, WINDOW).due.action == "start"


def started(stage: int = 0, at: dt.datetime = TUESDAY) -> tuple[Event, ...]:
    return (*APPROVED, ev(at, "stage_started", stage=stage))


def test_a_stage_bakes_from_its_recorded_start_so_a_restart_neither_skips_nor_repeats_it():
    facts = Facts(started())
    halfway = state_of(plan(), facts, TUESDAY + dt.timedelta(hours=12), WINDOW)
    assert halfway.state == "baking" and halfway.due is None and halfway.bake_ends_at == TUESDAY + dt.timedelta(days=1)
    # a scheduler started afresh reads the same facts: no start is due again
    assert state_of(plan(), facts, TUESDAY + dt.timedelta(hours=12, seconds=1), WINDOW).due is None
    over = state_of(plan(), facts, TUESDAY + dt.timedelta(days=1), WINDOW)
    assert over.due.action == "check"  # checks run after the bake, before advancing


def test_manual_advance_waits_for_go_after_the_bake_when_the_checks_pass():
    after = TUESDAY + dt.timedelta(days=1, minutes=1)
    status = state_of(plan(), Facts(started(), passing(), after), after, WINDOW)
    assert status.state == "awaiting_go" and "beta" in status.reason
    assert refusal(plan(), status, "go", "U0LEAD", APPROVERS, False) is None
    assert refusal(plan(), status, "go", "U0STRANGER", APPROVERS, False).startswith("Only the plan's owner")
    went = Facts((*started(), ev(after, "go", "U0LEAD", stage=0)), passing(), after)
    assert state_of(plan(), went, after, WINDOW).due.action == "start"
    assert state_of(plan(), went, after, WINDOW).due.stage == 1


def test_auto_advance_starts_the_next_stage_when_the_checks_pass():
    after = TUESDAY + dt.timedelta(days=1, minutes=1)
    status = state_of(plan("auto"), Facts(started(), passing(), after), after, WINDOW)
    assert status.due.action == "start" and status.due.stage == 1


def test_the_last_stage_completes_and_then_nothing_is_due():
    at = TUESDAY + dt.timedelta(days=2)
    status = state_of(plan(), Facts(started(3, at), passing(), at), at, WINDOW)
    assert status.due.action == "complete"
    done = Facts((*started(3, at), ev(at, "completed")), passing(), at)
    assert state_of(plan(), done, at, WINDOW).state == "completed"
    assert refusal(plan(), state_of(plan(), done, at, WINDOW), "pause", "U0DEV", APPROVERS, False) == "This plan is already completed."


def test_a_breach_applies_on_fail_at_any_hour_and_rollback_leaves_the_previous_stage():
    night = dt.datetime(2026, 3, 7, 4, 0, tzinfo=UTC)  # a Friday night: the hours do not matter for a breach
    breach = (CheckResult("errors", 0.09, False, True, "0.09 > 0.02"), *passing("latency"))
    status = state_of(plan(), Facts(started(1), breach, night), night, WINDOW)
    assert status.due.action == "rollback" and status.due.stage == 0 and "errors" in status.due.reason
    rolled = (*started(1), ev(night, "rolled_back", stage=0, reason="errors"))
    status = state_of(plan(), Facts(rolled, breach, night), night, WINDOW)
    assert status.state == "rolled_back" and status.stage == 0  # the breach before the rollback is not applied again
    resumed = (*rolled, ev(night + dt.timedelta(hours=1), "resumed", "U0DEV"))
    status = state_of(plan(), Facts(resumed, breach, night), night + dt.timedelta(hours=1), WINDOW)
    assert status.state == "baking" and status.bake_ends_at == night + dt.timedelta(days=1, hours=1)


def test_the_worst_on_fail_wins_and_off_aborts():
    off = Check("saturation", "q", min=1, on_fail="off")
    results = (CheckResult("errors", 0.5, False, True, "high"), CheckResult("saturation", 0.0, False, True, "low"))
    status = state_of(plan(checks=(ERRORS, off)), Facts(started(), results, TUESDAY), TUESDAY, WINDOW)
    assert status.due.action == "off"


def test_no_data_pauses_whatever_on_fail_says():
    blind = (CheckResult("errors", None, False, False, "no data"), *passing("latency"))
    status = state_of(plan(), Facts(started(), blind, TUESDAY), TUESDAY, WINDOW)
    assert status.due.action == "pause" and "no answer: no data" in status.due.reason
    paused = Facts((*started(), ev(TUESDAY, "paused", reason=status.due.reason)), blind, TUESDAY)
    status = state_of(plan(), paused, TUESDAY, WINDOW)
    assert status.state == "paused" and status.due is None
    assert refusal(plan(), status, "resume", "U0OPS", APPROVERS, False) is None


def test_a_rejection_with_a_reason_ends_the_plan():
    facts = Facts((*APPROVED[:2], ev(TUESDAY, "rejected", "U0OPS", reason="not this week")))
    status = state_of(plan(), facts, TUESDAY, WINDOW)
    assert status.state == "aborted" and "not this week" in status.reason


def test_approvals_are_by_a_role_one_holds_each_once_never_ones_own():
    status = state_of(plan(), Facts(APPROVED[:2]), TUESDAY, WINDOW)
    assert refusal(plan(), status, "approve", "U0OPS", APPROVERS, False, "operations") is None
    assert refusal(plan(), status, "approve", "U0OPS", APPROVERS, False, "product") == "You do not hold the product role (flags.approvers.product)."
    assert refusal(plan(), status, "approve", "U0LEAD", APPROVERS, False, "technical") == "The technical approval is given already, by <@U0LEAD>."
    assert refusal(plan(), status, "approve", "U0DEV", {**APPROVERS, "product": ["U0DEV"]}, False, "product") == "You cannot approve or reject your own plan."
    assert refusal(plan(), status, "reject", "U0STRANGER", APPROVERS, False) == "Only the plan's approvers can reject it."
    assert refusal(plan(), status, "abort", "U0LEAD", APPROVERS, False).startswith("Only the plan's owner")
    assert refusal(plan(), status, "abort", "U0ROOT", APPROVERS, True) is None
    assert refusal(plan(), status, "go", "U0DEV", APPROVERS, False).startswith("There is nothing to go ahead with")


def test_stage_audiences_add_up_and_a_user_let_in_at_5_percent_stays_in_at_25():
    template = plan().template
    assert stage_audience(template, 1).segments == ("internal", "beta")
    assert stage_audience(template, 2).segments == ("internal", "beta")
    base = initial(None)
    users = [f"user-{n}" for n in range(400)]

    def on_for(stage: int) -> set[str]:
        snapshot = FlagSnapshot("production", 1, {"f": stage_definition(base, template, stage)}, {"internal": {"==": [1, 0]}, "beta": {"==": [1, 0]}})
        return {u for u in users if evaluate(snapshot, "f", {"targetingKey": u}).variant == "on"}

    five, quarter, everyone = on_for(1), on_for(2), on_for(3)
    assert 5 <= len(five) <= 40 and five <= quarter and 60 <= len(quarter) <= 140 and everyone == set(users)
    assert on_for(-1) == set()


def test_after_a_resume_the_results_that_halted_the_plan_are_not_applied_again():
    blind = (CheckResult("errors", None, False, False, "no data"), *passing("latency"))
    paused = (*started(), ev(TUESDAY, "paused", reason="no data"), ev(TUESDAY + dt.timedelta(minutes=5), "resumed", "U0DEV"))
    now = TUESDAY + dt.timedelta(minutes=5)
    status = state_of(plan(), Facts(paused, blind, TUESDAY), now, WINDOW)
    assert status.state == "baking" and status.due is None
    later = TUESDAY + dt.timedelta(days=1)
    assert state_of(plan(), Facts(paused, blind, TUESDAY), later, WINDOW).due.action == "check"
    assert state_of(plan(), Facts(paused, blind, later), later, WINDOW).due.action == "pause"
