"""Queries on rollout plans and their events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.rollouts.plan import ENDED, CheckResult, Event, Plan, Template
from storage.models import RolloutEventRow, RolloutPlanRow
from storage.upsert import insert_if_new


@dataclass(frozen=True)
class StoredPlan:
    plan: Plan
    state: str
    stage: int
    events_count: int
    checks: tuple[CheckResult, ...]
    checked_at: dt.datetime | None


def _stored(row: RolloutPlanRow, product: str | None) -> StoredPlan:
    plan = Plan(
        row.id, row.flag_key, row.environment, row.template_name, Template.of(row.template), row.owner, row.created_at, product or ""
    )
    checks = tuple(CheckResult(c["name"], c["value"], c["passed"], c["breach"], c["reason"]) for c in row.checks or ())
    return StoredPlan(plan, row.state, row.stage, row.events_count, checks, row.checked_at)


def create(session: Session, plan: Plan, state: str, now: dt.datetime) -> int:
    row = RolloutPlanRow(
        flag_key=plan.flag, environment=plan.environment, template_name=plan.template_name, template=plan.template.to_json(),
        owner=plan.owner, created_at=now, state=state, stage=-1, events_count=0,
    )
    session.add(row)
    session.flush()
    return row.id


def get(session: Session, plan_id: int, product: str | None = None, *, lock: bool = False) -> StoredPlan | None:
    query = select(RolloutPlanRow).where(RolloutPlanRow.id == plan_id)
    row = session.scalars(query.with_for_update() if lock else query).first()
    return _stored(row, product) if row else None


def running(session: Session, flag_key: str, environment: str | None = None) -> list[StoredPlan]:
    """The flag's plans that have not ended (one per environment at most)."""
    query = select(RolloutPlanRow).where(RolloutPlanRow.flag_key == flag_key, RolloutPlanRow.state.not_in(ENDED))
    if environment is not None:
        query = query.where(RolloutPlanRow.environment == environment)
    return [_stored(row, None) for row in session.scalars(query.order_by(RolloutPlanRow.id))]


def all_running(session: Session, products: dict[str, str | None]) -> list[StoredPlan]:
    """Every plan that has not ended; `products` maps flag keys to their products."""
    query = select(RolloutPlanRow).where(RolloutPlanRow.state.not_in(ENDED)).order_by(RolloutPlanRow.id)
    return [_stored(row, products.get(row.flag_key)) for row in session.scalars(query)]


def of_flag(session: Session, flag_key: str, limit: int) -> list[StoredPlan]:
    query = select(RolloutPlanRow).where(RolloutPlanRow.flag_key == flag_key).order_by(RolloutPlanRow.id.desc()).limit(limit)
    return [_stored(row, None) for row in session.scalars(query)]


def events(session: Session, plan_id: int) -> tuple[Event, ...]:
    query = select(RolloutEventRow).where(RolloutEventRow.plan_id == plan_id).order_by(RolloutEventRow.seq)
    return tuple(Event(row.at, row.kind, row.actor, row.detail or {}) for row in session.scalars(query))


def events_of(session: Session, plan_ids: list[int]) -> dict[int, tuple[Event, ...]]:
    """The events of many plans in one query, each plan's in order."""
    found: dict[int, list[Event]] = {plan_id: [] for plan_id in plan_ids}
    query = select(RolloutEventRow).where(RolloutEventRow.plan_id.in_(plan_ids)).order_by(RolloutEventRow.plan_id, RolloutEventRow.seq)
    for row in session.scalars(query) if plan_ids else ():
        found[row.plan_id].append(Event(row.at, row.kind, row.actor, row.detail or {}))
    return {plan_id: tuple(events) for plan_id, events in found.items()}


def record(session: Session, plan_id: int, seq: int, event: Event) -> bool:
    """The plan's event number `seq`; False when a replica recorded that number first."""
    values = {"plan_id": plan_id, "seq": seq, "at": event.at, "kind": event.kind, "actor": event.actor[:40], "detail": event.detail}
    return insert_if_new(session, RolloutEventRow, values, ["plan_id", "seq"])


def summarize(session: Session, plan_id: int, state: str, stage: int, events_count: int) -> None:
    session.execute(
        update(RolloutPlanRow).where(RolloutPlanRow.id == plan_id).values(state=state, stage=stage, events_count=events_count)
    )


def set_checks(session: Session, plan_id: int, results: list[CheckResult], at: dt.datetime) -> None:
    checks = [{"name": r.name, "value": r.value, "passed": r.passed, "breach": r.breach, "reason": r.reason} for r in results]
    session.execute(update(RolloutPlanRow).where(RolloutPlanRow.id == plan_id).values(checks=checks, checked_at=at))
