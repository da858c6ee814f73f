"""Scheduled jobs, run in-process by APScheduler on the server's event loop.

Each job is also runnable at once with `releasebot run-job JOB`; a job that must happen
once per period claims its run in storage, so replicas and re-runs never repeat it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import metrics
from bot.inbox import forget_old_deliveries, forget_old_requests
from bot.people.service import remind
from bot.release import flows, freezes
from bot.runtime import Runtime
from bot.slack.delivery import prune_delivered
from bot.slack.directory import SlackDirectory

log = logging.getLogger(__name__)

JobFunction = Callable[[Runtime, str | None], Awaitable[str]]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFunction
    trigger: Callable[[Runtime], BaseTrigger]
    description: str


async def housekeeping(runtime: Runtime, product: str | None = None, **_options) -> str:
    forgotten = await asyncio.to_thread(forget_old_deliveries, runtime.db, runtime.clock)
    replays = await asyncio.to_thread(forget_old_requests, runtime.db, runtime.clock)
    pruned = await asyncio.to_thread(prune_delivered, runtime)
    return f"forgot {forgotten} old Slack event ids, {replays} old request signatures and {pruned} delivered messages"


async def daily_candidates(runtime: Runtime, product: str | None = None, *, scheduled: bool = False) -> str:
    """Cut every product with new changes. A scheduled run claims today's run per product, so
    replicas and restarts make it once; `run-job` cuts now, and never twice for the same changes."""
    run_key = flows.daily_run_key(runtime) if scheduled else None
    if scheduled and run_key is None:
        return "not a cut day, or before the cut time"
    summaries = await flows.daily_candidates(runtime, SlackDirectory(runtime), product, run_key=run_key)
    return "; ".join(summaries) or "no products"


def _daily_trigger(runtime: Runtime) -> BaseTrigger:
    settings = runtime.config.daily_candidates
    return CronTrigger(
        day_of_week=",".join(settings.days),
        hour=settings.time.hour,
        minute=settings.time.minute,
        timezone=runtime.config.release_hours.timezone,
    )


async def freeze_ends(runtime: Runtime, product: str | None = None, **_options) -> str:
    announced = await asyncio.to_thread(freezes.announce_ended, runtime.db, runtime.config, runtime.clock.now())
    runtime.wake_delivery()
    return f"announced the end of {announced} freezes"


async def reminders(runtime: Runtime, product: str | None = None, **_options) -> str:
    """What is due now: reminders, escalations, notes on ready candidates; each sent once across replicas."""
    sent = await asyncio.to_thread(remind, runtime.db, runtime.config, runtime.clock.now())
    runtime.wake_delivery()
    return f"sent {len(sent)} reminders and notes"


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("daily-candidates", daily_candidates, _daily_trigger, "cut a candidate for every product with new changes"),
        Job("freeze-ends", freeze_ends, lambda _runtime: IntervalTrigger(minutes=1), "announce freezes that ran out"),
        Job("reminders", reminders, lambda _runtime: IntervalTrigger(minutes=1), "remind pending engineers, escalate, note ready candidates"),
        Job("housekeeping", housekeeping, lambda _runtime: IntervalTrigger(hours=1), "prune old Slack event ids and request signatures"),
    )
}


async def run_job(runtime: Runtime, name: str, product: str | None = None, **options) -> str:
    """Run one job now, counting its outcome; the exception propagates to the caller."""
    job = JOBS[name]
    try:
        summary = await job.run(runtime, product, **options)
    except Exception:
        metrics.job_runs.labels(name, "failed").inc()
        raise
    metrics.job_runs.labels(name, "ok").inc()
    return summary


def start_scheduler(runtime: Runtime) -> AsyncIOScheduler:
    # APScheduler says at INFO every job it adds and runs (freeze-ends, each minute); _logged says
    # what each run did, and APScheduler's own warnings and errors still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = AsyncIOScheduler()
    for job in JOBS.values():
        scheduler.add_job(
            _logged,
            job.trigger(runtime),
            args=(runtime, job.name),
            kwargs={"scheduled": True} if job.name == "daily-candidates" else {},
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
    # a bot that was down at the cut time makes up the missed cut when it starts the same day
    scheduler.add_job(
        _logged, args=(runtime, "daily-candidates"), kwargs={"scheduled": True}, id="daily-catch-up", name="daily-catch-up"
    )
    scheduler.start()
    return scheduler


async def _logged(runtime: Runtime, name: str, **options) -> None:
    try:
        log.info("job %s: %s", name, await run_job(runtime, name, **options))
    except flows.DailyCutFailed as failed:
        log.error("job %s failed: %s", name, failed)  # each product's cause is known: no traceback
    except Exception:
        log.exception("job %s failed", name)
