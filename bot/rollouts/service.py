"""Rollout plan services. Each decision and each transition is one transaction: the plan row is
locked, the new fact is recorded under the plan's next event number (unique, so of three replicas
one records it and the others roll back), the stage's audience is written to the flag through the
flag store (recorded with actor "plan:<id>", the version bumped so OFREP sees it at once), and the
plan message update and a thread event are owed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import storage.flags as flags_store
import storage.freezes as freezes
import storage.outbox as outbox
import storage.rollouts as store
from bot.config import Config
from bot.errors import Refused
from bot.flags import definitions
from bot.flags.model import Flag
from bot.release.hours import ReleaseWindow
from bot.release.service import owe_home
from bot.rollouts.plan import (
    AWAITING_APPROVAL, AWAITING_GO, CheckResult, Event, Facts, Plan, PlanStatus, Template, refusal, stage_definition, state_of,
)
from storage import Database
from storage.flags import FlagChange
from storage.rollouts import StoredPlan

HALTS = {"paused", "rolled_back", "aborted", "no_go", "rejected"}
MAX_LISTED = 20
WAITING = {AWAITING_APPROVAL, AWAITING_GO}  # the states a plan shows in its deciders' App Homes


class Moved(Exception):
    """Another replica recorded this event number first: the plan has moved on without us."""


@dataclass(frozen=True)
class View:
    stored: StoredPlan
    status: PlanStatus
    events: tuple[Event, ...]
    facts: Facts


def lane(plan_id: int) -> str:
    return f"plan:{plan_id}"


def window(config: Config) -> ReleaseWindow:
    return ReleaseWindow(config.release_hours)


def _facts(session, stored: StoredPlan, now: dt.datetime, events: tuple[Event, ...] | None = None) -> Facts:
    in_force = tuple(f for f in freezes.active_or_future(session, now) if f.starts_at <= now)
    return Facts(events if events is not None else store.events(session, stored.plan.id), stored.checks, stored.checked_at, in_force)


def _load(session, config: Config, plan_id: int, now: dt.datetime, *, lock: bool) -> tuple[View, Flag]:
    found = store.get(session, plan_id, lock=lock)
    if found is None:
        raise Refused("That rollout plan does not exist.")
    flag = flags_store.get(session, found.plan.flag, lock=lock)
    stored = replace(found, plan=replace(found.plan, product=flag.product or "" if flag else ""))  # its freezes hold the plan
    facts = _facts(session, stored, now)
    return View(stored, state_of(stored.plan, facts, now, window(config)), facts.events, facts), flag


def create(db: Database, config: Config, key: str, template_name: str | None, environment: str | None, actor: str, now: dt.datetime) -> View:
    environment = environment or config.flags.default_environment
    templates = config.flags.rollout_templates
    if not templates:
        raise Refused("No rollout templates are configured (flags.rollout_templates).")
    template_name = template_name or next(iter(templates))
    if template_name not in templates:
        raise Refused(f"There is no rollout template `{{name}}`; templates: {', '.join(templates)}.", name=template_name[:40])
    if environment not in config.flags.environments:
        raise Refused(f"There is no environment `{{env}}`; environments: {', '.join(config.flags.environments)}.", env=environment[:40])
    with db.transaction() as session:
        flag = flags_store.get(session, key, lock=True)
        if flag is None or flag.archived:
            raise Refused("There is no flag `{key}`. `/flag list` shows them.", key=key[:70])
        if not definitions.is_boolean(flag.definition(environment)["variants"]):
            raise Refused("Rollout plans are for on/off flags; this one has variants: use `/flag split`.")
        if store.running(session, key, environment):
            raise Refused(f"`{key}` already has a rollout plan in {environment}: `/flag plan status {key} {environment}`.")
        plan = Plan(0, key, environment, template_name, Template.of(templates[template_name]), actor, now, flag.product or "")
        plan_id = store.create(session, plan, AWAITING_APPROVAL, now)
        current, flag = _load(session, config, plan_id, now, lock=False)
        event = Event(now, "created", actor, {"template": template_name})
        _record(session, plan_id, 0, event)
        return _settle(session, config, _after(session, config, current, event, now), flag, now)


def find(db: Database, config: Config, key: str, environment: str | None, now: dt.datetime) -> View:
    """The flag's running plan in the environment (any environment when there is one plan)."""
    with db.reading() as session:
        running = store.running(session, key, environment)
        if not running:
            where = f" in {environment}" if environment else ""
            raise Refused(f"`{{key}}` has no running rollout plan{where}. `/flag plan {{key}} [template] [env]` makes one.", key=key[:70])
        if len(running) > 1:
            raise Refused(f"`{{key}}` has plans in {', '.join(s.plan.environment for s in running)}: name the environment.", key=key[:70])
        return _load(session, config, running[0].plan.id, now, lock=False)[0]


def running(db: Database, config: Config, now: dt.datetime) -> list[View]:
    """Every running plan, read at once (a few queries for all of them): the job's round starts here."""
    with db.reading() as session:
        return running_in(session, config, now)


def running_in(session, config: Config, now: dt.datetime) -> list[View]:
    """As running(), in the caller's snapshot (the App Home reads its plans with everything else)."""
    plans = store.all_running(session, flags_store.products(session))
    events = store.events_of(session, [stored.plan.id for stored in plans])
    in_force = tuple(f for f in freezes.active_or_future(session, now) if f.starts_at <= now)
    found = []
    for stored in plans:
        facts = Facts(events[stored.plan.id], stored.checks, stored.checked_at, in_force)
        found.append(View(stored, state_of(stored.plan, facts, now, window(config)), facts.events, facts))
    return found


def view(db: Database, config: Config, plan_id: int, now: dt.datetime) -> View:
    with db.reading() as session:
        return _load(session, config, plan_id, now, lock=False)[0]


def of_flag(db: Database, config: Config, key: str, now: dt.datetime) -> list[View] | None:
    """The flag's plans, newest first; None when there is no such flag."""
    with db.reading() as session:
        if flags_store.get(session, key) is None:
            return None
        return [_load(session, config, s.plan.id, now, lock=False)[0] for s in store.of_flag(session, key, MAX_LISTED)]


def decide(
    db: Database, config: Config, plan_id: int, action: str, actor: str, now: dt.datetime, role: str | None = None, reason: str = ""
) -> View:
    """A person's decision: approve (as `role`), reject, go, no_go, pause, resume, rollback, abort."""
    with db.transaction() as session:
        current, flag = _load(session, config, plan_id, now, lock=True)
        why = refusal(current.stored.plan, current.status, action, actor, config.flags.approvers, config.is_admin(actor), role)
        if why:
            raise Refused(why)
        if action in ("reject", "no_go") and not reason.strip():
            raise Refused("Give the reason: it is recorded and told to the plan's owner.")
        seq = len(current.events)
        detail: dict = {"reason": reason.strip()[:500]} if reason.strip() else {}
        if action == "approve":
            event = Event(now, "approved", actor, {"role": role})
        elif action == "go":
            event = Event(now, "go", actor, {"stage": current.status.stage})
        elif action == "pause":
            event = Event(now, "paused", actor, {"reason": reason.strip()[:500] or "paused by hand"})
        elif action == "rollback":
            target = current.status.stage - 1
            _apply(session, current.stored.plan, flag, target, now)
            event = Event(now, "rolled_back", actor, {"stage": target, "reason": reason.strip()[:500] or "rolled back by hand"})
        else:
            event = Event(now, {"reject": "rejected", "no_go": "no_go", "resume": "resumed", "abort": "aborted"}[action], actor, detail)
        _record(session, plan_id, seq, event)
        return _settle(session, config, _after(session, config, current, event, now), flag, now)


def advance(
    db: Database, config: Config, plan_id: int, now: dt.datetime, results: list[CheckResult] | None = None
) -> tuple[str | None, View]:
    """The scheduler's step: store fresh check results, then do what is due (start, complete,
    pause, rollback, off). The kind of event recorded (None when nothing was due), and the plan after."""
    with db.transaction() as session:
        current, flag = _load(session, config, plan_id, now, lock=True)
        verdicts = [(c.name, c.passed) for c in current.stored.checks]
        if results is not None:
            store.set_checks(session, plan_id, results, now)
            stored = replace(current.stored, checks=tuple(results), checked_at=now)
            facts = replace(current.facts, checks=stored.checks, checked_at=now)
            current = View(stored, state_of(stored.plan, facts, now, window(config)), current.events, facts)
        due = current.status.due
        if due is None or due.action == "check":
            _summarize(session, config, current, now, quiet=verdicts == [(c.name, c.passed) for c in current.stored.checks])
            return None, current
        event, after = _do(session, config, current, flag, now)
        return event.kind, after


def _do(session, config: Config, current: View, flag: Flag, now: dt.datetime) -> tuple[Event, View]:
    """Record and apply what is due (not "check": the job runs the checks first). The event is
    claimed first, so a replica that lost the race writes nothing; the flag is written last, so the
    version row is locked only until the commit."""
    due, plan = current.status.due, current.stored.plan
    actor, seq = f"plan:{plan.id}", len(current.events)
    definition = None
    if due.action in ("start", "rollback") and due.stage >= 0 and _killed_since(session, current):
        event = Event(now, "aborted", actor, {"reason": "the flag was turned off"})
    elif due.action == "start":
        definition, what = stage_definition(flag.definition(plan.environment), plan.template, due.stage), _stage_name(plan, due.stage)
        event = Event(now, "stage_started", actor, {"stage": due.stage})
    elif due.action == "complete":
        event = Event(now, "completed", actor, {})
    elif due.action == "pause":
        event = Event(now, "paused", actor, {"reason": due.reason})
    elif due.action == "rollback":
        definition, what = stage_definition(flag.definition(plan.environment), plan.template, due.stage), _stage_name(plan, due.stage)
        event = Event(now, "rolled_back", actor, {"stage": due.stage, "reason": due.reason})
    else:  # off
        definition, what = definitions.apply(flag.definition(plan.environment), {"op": "off"}), "off"
        event = Event(now, "aborted", actor, {"reason": f"{due.reason}; the flag is off"})
    _record(session, plan.id, seq, event)
    after = _after(session, config, current, event, now)
    if definition is not None:
        _apply_definition(session, plan, flag, definition, now, what)
    return event, after


def _settle(session, config: Config, current: View, flag: Flag, now: dt.datetime) -> View:
    """After a person's decision, a start (or completion) that is due now happens at once."""
    if current.status.due is not None and current.status.due.action in ("start", "complete"):
        return _do(session, config, current, flag, now)[1]
    return current


def abort_on_kill(db: Database, config: Config, key: str, environment: str | None, actor: str, now: dt.datetime) -> int:
    """`/flag off` turned the flag off: its running plans there end (the kill itself never waits)."""
    environment = environment or config.flags.default_environment
    aborted = 0
    with db.transaction() as session:
        for stored in store.running(session, key, environment):
            current, _flag = _load(session, config, stored.plan.id, now, lock=True)
            reason = "the flag was turned off"
            event = Event(now, "aborted", actor, {"reason": reason})
            _record(session, stored.plan.id, len(current.events), event)
            _after(session, config, current, event, now)
            aborted += 1
    return aborted


def _killed_since(session, current: View) -> bool:
    since = current.status.since or current.stored.plan.created_at
    return flags_store.turned_off_since(session, current.stored.plan.flag, current.stored.plan.environment, since)


def _stage_name(plan: Plan, stage: int) -> str:
    return f"stage {plan.template.stages[stage].name}" if stage >= 0 else "stage: nobody"


def _apply(session, plan: Plan, flag: Flag, stage: int, now: dt.datetime) -> None:
    _apply_definition(session, plan, flag, stage_definition(flag.definition(plan.environment), plan.template, stage), now, _stage_name(plan, stage))


def _apply_definition(session, plan: Plan, flag: Flag, after: dict, now: dt.datetime, what: str) -> None:
    before = flag.definition(plan.environment)
    if after == before:
        return
    actor = f"plan:{plan.id}"
    flags_store.set_definition(session, plan.flag, plan.environment, after, actor, now)
    reason = f"rollout plan #{plan.id}: {what}"
    flags_store.record_change(session, FlagChange(plan.flag, plan.environment, now, actor, "plan", before, after, reason, None))
    owe_home(session, flag.owner, now)
    flags_store.bump_version(session)


def _record(session, plan_id: int, seq: int, event: Event) -> None:
    if not store.record(session, plan_id, seq + 1, event):
        raise Moved(f"plan {plan_id} event {seq + 1} was recorded by another process")


def _after(session, config: Config, current: View, event: Event, now: dt.datetime) -> View:
    """The plan with its new event, summarized and its messages owed."""
    facts = replace(current.facts, events=(*current.events, event))
    updated = replace(current, status=state_of(current.stored.plan, facts, now, window(config)), events=facts.events, facts=facts)
    _summarize(session, config, updated, now)
    stored = replace(updated.stored, state=updated.status.state, stage=updated.status.stage, events_count=len(facts.events))
    return replace(updated, stored=stored)


def _summarize(session, config: Config, current: View, now: dt.datetime, *, quiet: bool = False) -> None:
    """Keep the listing's state and stage, and owe the message update and the new events' thread lines."""
    stored, status = current.stored, current.status
    changed = (stored.state, stored.stage) != (status.state, status.stage)
    new_events = current.events[stored.events_count:]
    if quiet and not changed and not new_events:
        return
    store.summarize(session, stored.plan.id, status.state, status.stage, len(current.events))
    plan = stored.plan
    if (changed or new_events) and WAITING & {stored.state, status.state}:  # it enters, waits in or leaves someone's App Home
        owe_home(session, {plan.owner, *(user for users in config.flags.approvers.values() for user in users)}, now)
    channel = config.flags.channel
    if channel:
        outbox.enqueue(session, lane(plan.id), "plan", {"channel": channel, "plan_id": plan.id}, now)
    for event in new_events:
        facts = _event_facts(plan, event)
        if channel:
            outbox.enqueue(session, lane(plan.id), "plan_thread", {**facts, "plan_id": plan.id}, now)
        if event.kind in HALTS and event.actor != plan.owner:
            outbox.enqueue(session, f"dm:{plan.owner}", "dm", {**facts, "event": "plan_halted", "user": plan.owner}, now)
        if event.kind == "completed":  # fully on: the flag has done its job and may go from the code
            outbox.enqueue(session, f"dm:{plan.owner}", "dm", {**facts, "event": "plan_completed", "user": plan.owner}, now)


def _event_facts(plan: Plan, event: Event) -> dict:
    stage = event.detail.get("stage")
    name = plan.template.stages[stage].name if isinstance(stage, int) and stage >= 0 else None
    return {
        "event": "plan_event", "kind": event.kind, "by": event.actor, "key": plan.flag, "environment": plan.environment,
        "stage": name, "role": event.detail.get("role"), "reason": event.detail.get("reason"),
    }

