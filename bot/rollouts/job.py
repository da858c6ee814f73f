"""The `rollouts` job (every 30 s, and `releasebot run-job rollouts`): for each running plan, ask
what is due now and do it. Checks run at least once a minute while a stage is live, and again
before a stage advances; a breach applies its on_fail at once, at any hour."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.rollouts import checks, service
from bot.rollouts.plan import AWAITING_GO, BAKING, PAUSED, WAITING_WINDOW, PlanStatus
from bot.runtime import Runtime

log = logging.getLogger(__name__)

CHECK_EVERY = dt.timedelta(seconds=55)  # the job runs each 30 s: checks about once a minute
CONCURRENT = 50
SETTLE = 3  # transitions one plan may make in a round (a stage with no bake completes at once)


def wants_checks(view: service.View, now: dt.datetime) -> bool:
    status: PlanStatus = view.status
    stored = view.stored
    if status.stage < 0 or not stored.plan.template.checks:
        return False
    live = status.state in (BAKING, AWAITING_GO, WAITING_WINDOW) or (status.state == PAUSED and status.frozen)
    stale = stored.checked_at is None or now - stored.checked_at >= CHECK_EVERY
    return live and (stale or (status.due is not None and status.due.action == "check"))


def _drifted(view: service.View) -> bool:
    """The clock alone changed the state (a bake ended, the hours opened): the message must say so."""
    return (view.stored.state, view.stored.stage) != (view.status.state, view.status.stage)


async def rollouts_round(runtime: Runtime) -> dict[str, int]:
    """One round over every running plan; how many checks ran and transitions were made."""
    now = runtime.clock.now()
    views = await asyncio.to_thread(service.running, runtime.db, runtime.config, now)
    limit = asyncio.Semaphore(CONCURRENT)
    counts = {"plans": len(views), "checked": 0, "moved": 0, "failed": 0}

    async def one(view: service.View) -> None:
        plan_id = view.stored.plan.id
        async with limit:
            try:
                for _ in range(SETTLE):
                    results = None
                    if wants_checks(view, runtime.clock.now()):
                        plan = view.stored.plan
                        results = await checks.run_checks(runtime.config.flags.prometheus_url, plan.template.checks, plan.flag, plan.environment)
                        counts["checked"] += 1
                    elif (view.status.due is None or view.status.due.action == "check") and not _drifted(view):
                        return
                    at = runtime.clock.now()
                    moved, view = await asyncio.to_thread(service.advance, runtime.db, runtime.config, plan_id, at, results)
                    if moved is None:
                        return
                    counts["moved"] += 1
            except service.Moved:
                pass  # another replica made this transition
            except Exception:
                counts["failed"] += 1
                log.exception("rollout plan %s: the round failed", plan_id)

    await asyncio.gather(*(one(view) for view in views))
    return counts

