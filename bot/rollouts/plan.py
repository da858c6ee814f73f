"""A rollout plan, pure: its state is a function of the recorded facts and the clock.

Like an Argo Rollouts step list, a plan is a copy of a template's stages, each widening the
audience (segments add up, the percentage only grows) and held for a bake time. Nothing is kept
but facts: approvals, stage starts, go and no-go decisions, pauses, resumes, rollbacks, aborts,
and the latest check results. `state_of` reads them with the clock, the release window and the
freezes in force, and says the state, the current stage and what is due; a scheduler restarted
mid-stage reads the same facts and so neither skips nor repeats a stage.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.flags.definitions import OFF, ON, Audience, audience, with_audience
from bot.release.hours import Freeze, ReleaseWindow

AWAITING_APPROVAL, WAITING_WINDOW, BAKING, AWAITING_GO = "awaiting_approval", "waiting_window", "baking", "awaiting_go"
PAUSED, COMPLETED, ROLLED_BACK, ABORTED = "paused", "completed", "rolled_back", "aborted"
ENDED = (COMPLETED, ABORTED)
SEVERITY = {"pause": 1, "rollback": 2, "off": 3}


@dataclass(frozen=True)
class Stage:
    name: str
    segments: tuple[str, ...] = ()
    percent: int = 0
    bake: dt.timedelta | None = None


@dataclass(frozen=True)
class Check:
    name: str
    query: str
    max: float | None = None
    min: float | None = None
    on_fail: str = "pause"


@dataclass(frozen=True)
class Template:
    approvals: tuple[str, ...]
    advance: str  # manual | auto
    checks: tuple[Check, ...]
    stages: tuple[Stage, ...]

    @classmethod
    def of(cls, settings) -> Template:
        """From the configuration's RolloutTemplate, or its JSON copy stored with a plan."""
        data = settings if isinstance(settings, dict) else settings.model_dump()
        return cls(
            approvals=tuple(data.get("approvals") or ()),
            advance=data.get("advance", "manual"),
            checks=tuple(Check(c["name"], c["query"], c.get("max"), c.get("min"), c.get("on_fail", "pause")) for c in data.get("checks") or ()),
            stages=tuple(
                Stage(s["name"], tuple(s.get("segments") or ()), int(s.get("percent", 0)), _seconds(s.get("bake")))
                for s in data["stages"]
            ),
        )

    def to_json(self) -> dict:
        return {
            "approvals": list(self.approvals), "advance": self.advance,
            "checks": [{"name": c.name, "query": c.query, "max": c.max, "min": c.min, "on_fail": c.on_fail} for c in self.checks],
            "stages": [
                {"name": s.name, "segments": list(s.segments), "percent": s.percent, "bake": s.bake.total_seconds() if s.bake else None}
                for s in self.stages
            ],
        }


def _seconds(value) -> dt.timedelta | None:
    if value is None or isinstance(value, dt.timedelta):
        return value
    return dt.timedelta(seconds=float(value))


@dataclass(frozen=True)
class Plan:
    id: int
    flag: str
    environment: str
    template_name: str
    template: Template
    owner: str
    created_at: dt.datetime
    product: str = ""  # the flag's product, whose freezes hold the plan ("" : only freezes of all)


@dataclass(frozen=True)
class Event:
    """A recorded fact. Kinds: created, approved {role}, rejected {reason}, stage_started {stage},
    go {stage}, no_go {reason}, paused {reason}, resumed, rolled_back {stage, reason}, aborted
    {reason}, completed."""

    at: dt.datetime
    kind: str
    actor: str
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    """As bot/rollouts/checks.py returns it; breach: a value broke max/min."""

    name: str
    value: float | None
    passed: bool
    breach: bool
    reason: str


@dataclass(frozen=True)
class Facts:
    events: tuple[Event, ...]
    checks: tuple[CheckResult, ...] = ()
    checked_at: dt.datetime | None = None
    freezes: tuple[Freeze, ...] = ()


@dataclass(frozen=True)
class Due:
    """What the scheduler should do now: start (stage), complete, pause, rollback (to stage), off."""

    action: str
    stage: int
    reason: str = ""


@dataclass(frozen=True)
class PlanStatus:
    state: str
    stage: int  # the current stage's index; -1 before the first starts (or after rolling back past it)
    due: Due | None = None
    reason: str = ""  # why it waits or halted, in plain words
    opens_at: dt.datetime | None = None  # waiting_window: when the release hours open
    bake_ends_at: dt.datetime | None = None
    approvals: tuple[tuple[str, str], ...] = ()  # (role, user)
    missing_roles: tuple[str, ...] = ()
    since: dt.datetime | None = None  # the stage's start (or the rollback's): what bakes and checks count from
    frozen: bool = False  # paused by a freeze alone: it goes on by itself when the freeze ends

    @property
    def running(self) -> bool:
        return self.state not in ENDED


def state_of(plan: Plan, facts: Facts, now: dt.datetime, window: ReleaseWindow) -> PlanStatus:
    """The plan's state, current stage and what is due, from the facts and the clock alone."""
    template = plan.template
    approvals: dict[str, str] = {}
    stage, since, halted, went = -1, None, None, False
    fresh_from = None  # check results older than this were judged already (a stage start, a resume)
    for event in facts.events:
        kind, detail = event.kind, event.detail
        if kind == "approved":
            approvals.setdefault(detail["role"], event.actor)
        elif kind == "rejected":
            return PlanStatus(ABORTED, stage, reason=f"rejected: {detail.get('reason', '')}", approvals=_pairs(approvals))
        elif kind in ("aborted", "completed"):
            state = ABORTED if kind == "aborted" else COMPLETED
            return PlanStatus(state, stage, reason=detail.get("reason", ""), approvals=_pairs(approvals), since=since)
        elif kind == "stage_started":
            stage, since, halted, went, fresh_from = detail["stage"], event.at, None, False, event.at
        elif kind == "rolled_back":
            stage, since, halted, went, fresh_from = detail["stage"], event.at, (ROLLED_BACK, detail.get("reason", "")), False, event.at
        elif kind in ("paused", "no_go"):
            halted = (PAUSED, detail.get("reason", ""))
        elif kind == "resumed":
            if halted and halted[0] == ROLLED_BACK:
                since = event.at  # the stage rolled back to bakes afresh
            halted, fresh_from = None, event.at
        elif kind == "go" and detail.get("stage") == stage:
            went = True
    pairs = _pairs(approvals)
    missing = tuple(role for role in template.approvals if role not in approvals)
    status = dict(stage=stage, approvals=pairs, missing_roles=missing, since=since)
    if missing:
        return PlanStatus(AWAITING_APPROVAL, reason="waiting for the approval of " + ", ".join(missing), **status)
    judged = facts.checked_at is not None and fresh_from is not None and facts.checked_at >= fresh_from
    fresh = facts.checks if stage >= 0 and judged else ()
    breaches = [c for c in fresh if c.breach]
    if halted is None and breaches:
        worst = max(breaches, key=lambda c: SEVERITY[_on_fail(template, c.name)])
        action = _on_fail(template, worst.name)
        target = stage - 1 if action == "rollback" else stage
        return PlanStatus(BAKING, due=Due(action, target, f"check {worst.name} failed: {worst.reason}"), **status)
    if halted is None and any(not c.passed for c in fresh):
        blind = next(c for c in fresh if not c.passed)
        return PlanStatus(BAKING, due=Due("pause", stage, f"check {blind.name} has no answer: {blind.reason}"), **status)
    if halted is not None:
        return PlanStatus(halted[0], reason=halted[1], **status)
    frozen = [f for f in facts.freezes if f.covers(plan.product, now)]
    if frozen:
        until = max(f.ends_at for f in frozen)
        return PlanStatus(PAUSED, frozen=True, reason=f"change freeze until {window.describe(until, now)}: {frozen[0].reason}", **status)
    bake_ends = since + template.stages[stage].bake if stage >= 0 and since and template.stages[stage].bake else since
    if stage >= 0 and bake_ends is not None and now < bake_ends:
        return PlanStatus(BAKING, bake_ends_at=bake_ends, reason=f"baking until {window.describe(bake_ends, now)}", **status)
    if stage >= 0 and template.checks and (not judged or facts.checked_at < bake_ends):
        return PlanStatus(BAKING, due=Due("check", stage, "checks before advancing"), bake_ends_at=bake_ends, **status)
    last = stage == len(template.stages) - 1
    if last:
        return PlanStatus(BAKING, due=Due("complete", stage), bake_ends_at=bake_ends, **status)
    if stage >= 0 and template.advance == "manual" and not went:
        following = template.stages[stage + 1].name
        return PlanStatus(AWAITING_GO, bake_ends_at=bake_ends, reason=f"waiting for Go to start {following}", **status)
    verdict = window.verdict(now, list(facts.freezes), plan.product)
    if not verdict.open:
        opens = verdict.next_open
        return PlanStatus(
            WAITING_WINDOW, opens_at=opens, bake_ends_at=bake_ends,
            reason=f"{verdict.reasons[0]}; the release hours open {window.describe(opens, now)}", **status,
        )
    return PlanStatus(BAKING if stage >= 0 else WAITING_WINDOW, due=Due("start", stage + 1), bake_ends_at=bake_ends, **status)


def _pairs(approvals: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(approvals.items())


def _on_fail(template: Template, name: str) -> str:
    return next((c.on_fail for c in template.checks if c.name == name), "pause")


def stage_audience(template: Template, stage: int, keys: tuple[str, ...] = ()) -> Audience:
    """Stages are cumulative: every segment up to `stage`, and its percentage; -1 is nobody."""
    if stage < 0:
        return Audience(keys, (), OFF)
    segments = tuple(dict.fromkeys(s for st in template.stages[: stage + 1] for s in st.segments))
    percent = template.stages[stage].percent
    rest = ON if percent == 100 else OFF if percent == 0 else ((ON, percent), (OFF, 100 - percent))
    return Audience(keys, segments, rest)


def stage_definition(definition: dict, template: Template, stage: int) -> dict:
    """The flag's definition serving the stage's audience; the flag's own targeting keys stay.
    A percentage is a `fractional` split whose `on` bucket comes first, so it only grows: a user
    let in at 5% is still in at 25%."""
    current = audience(definition)
    return with_audience(definition, stage_audience(template, stage, current.keys if current else ()))


HALTABLE = (BAKING, AWAITING_GO, WAITING_WINDOW)


def refusal(
    plan: Plan, status: PlanStatus, action: str, actor: str, approvers: dict[str, list[str]], admin: bool, role: str | None = None
) -> str | None:
    """Why `actor` may not do `action` (approve, reject, go, no_go, pause, resume, rollback, abort)
    now; None when they may. Deciders are the owner and the approvers (flags.approvers, any role);
    abort is the owner's or an admin's."""
    holds = {r for r in plan.template.approvals if actor in approvers.get(r, [])}
    decider = actor == plan.owner or any(actor in users for users in approvers.values())
    if not status.running:
        return f"This plan is already {status.state.replace('_', ' ')}."
    if action in ("approve", "reject"):
        if status.state != AWAITING_APPROVAL:
            return "This plan is approved already."
        if actor == plan.owner:
            return "You cannot approve or reject your own plan."
        if action == "reject":
            return None if holds else "Only the plan's approvers can reject it."
        if role not in plan.template.approvals:
            return f"This plan needs no {role} approval."
        done = dict(status.approvals)
        if role in done:
            return f"The {role} approval is given already, by <@{done[role]}>."
        return None if role in holds else f"You do not hold the {role} role (flags.approvers.{role})."
    if action == "abort":
        return None if actor == plan.owner or admin else f"Only the plan's owner, <@{plan.owner}>, or an admin can abort it."
    if not decider:
        return f"Only the plan's owner, <@{plan.owner}>, or one of its approvers can do that."
    if action == "go":
        return None if status.state == AWAITING_GO else f"There is nothing to go ahead with: the plan is {_said(status)}."
    if action in ("no_go", "pause"):
        return None if status.state in HALTABLE else f"The plan is {_said(status)}; there is nothing to halt."
    if action == "resume":
        if status.frozen:
            return "A change freeze holds this plan; it goes on by itself when the freeze ends."
        return None if status.state in (PAUSED, ROLLED_BACK) else f"The plan is {_said(status)}, not halted."
    if action == "rollback":
        if status.stage < 0 or status.state == AWAITING_APPROVAL:
            return "No stage has started yet; there is nothing to roll back."
        return None
    raise ValueError(f"unknown plan action {action!r}")


def _said(status: PlanStatus) -> str:
    return status.state.replace("_", " ")
