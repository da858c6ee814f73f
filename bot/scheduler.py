"""Scheduled jobs, run in-process by APScheduler on the server's event loop.

Each job is also runnable at once with `releasebot run-job JOB`; a job that must happen
once per period claims its run in storage, so replicas and re-runs never repeat it.

A scheduled daily cut that fails for a transient reason (Slack 5xx, a timeout, a refused
connection, rate limits beyond the client's retries, a database blip) is unclaimed, since the
claim is in the cut's transaction; `daily-retry` cuts such a product again after 1, 2, 4, 8 and
then every 15 minutes, on the runtime's clock, until it succeeds or its local day ends. A refusal
(an unreadable repository) is not retried: trying again does not fix it. Each process keeps its
own retries; the claim still makes the cut once across replicas.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import OperationalError

from bot import metrics
from bot.inbox import forget_old_deliveries, forget_old_requests
from bot.people import digest as weekly
from bot.people.service import remind
from bot.release import flows, freezes
from bot.rollouts.job import rollouts_round
from bot.runtime import Runtime
from bot.slack.delivery import prune_delivered
from bot.slack.directory import SlackDirectory

log = logging.getLogger(__name__)

JobFunction = Callable[[Runtime, str | None], Awaitable[str]]
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_MAX = dt.timedelta(minutes=15)
TRANSIENT_SLACK_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}


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
    try:
        summaries = await flows.daily_candidates(runtime, SlackDirectory(runtime), product, run_key=run_key)
    except flows.DailyCutFailed as failed:
        if run_key:
            _retry_later(runtime, run_key, failed)
        raise
    for key in [p.key for p in runtime.config.products if product in (None, p.key)]:
        runtime.daily_retries.pop(key, None)
    return "; ".join(summaries) or "no products"


async def daily_retry(runtime: Runtime, product: str | None = None, **_options) -> str:
    """Cut again, today, the products whose scheduled cut failed for a transient reason and are due."""
    today, now = flows.daily_run_key(runtime), runtime.clock.now()
    done = []
    for key, (run_key, failures, due) in sorted(runtime.daily_retries.items()):
        if run_key != today:
            log.error("daily cut of %s for %s never succeeded: the day is over", key, run_key)
            del runtime.daily_retries[key]
        elif due <= now and product in (None, key):
            try:
                summaries = await flows.daily_candidates(runtime, SlackDirectory(runtime), key, run_key=run_key)
            except flows.DailyCutFailed as failed:
                _retry_later(runtime, run_key, failed)
                metrics.job_runs.labels("daily-retry", "failed").inc()
                done.append(str(failed))
            else:
                del runtime.daily_retries[key]
                metrics.job_runs.labels("daily-retry", "ok").inc()
                done.extend(summaries)
    return "; ".join(done)


def _retry_later(runtime: Runtime, run_key: str, failed: flows.DailyCutFailed) -> None:
    now = runtime.clock.now()
    for key, error in failed.errors.items():
        if not _transient(error):
            runtime.daily_retries.pop(key, None)
            continue
        _key, failures, _due = runtime.daily_retries.get(key, (run_key, 0, now))
        delay = min(RETRY_MAX, RETRY_FIRST * 2 ** min(failures, 4))
        runtime.daily_retries[key] = (run_key, failures + 1, now + delay)
        log.warning("daily cut of %s failed (%s); trying again at %s", key, error, (now + delay).isoformat())


def _transient(error: Exception) -> bool:
    """A failure that trying again later can heal."""
    if isinstance(error, SlackApiError):
        return error.response.status_code >= 500 or error.response.status_code == 429 or error.response.get("error") in TRANSIENT_SLACK_ERRORS
    return isinstance(error, (aiohttp.ClientError, TimeoutError, ConnectionError, OperationalError))


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


async def digest(runtime: Runtime, product: str | None = None, *, scheduled: bool = False) -> str:
    """Owe each product channel its weekly digest. A scheduled run claims this week's run per
    product, so replicas and restarts post it once; `run-job digest` posts one now."""
    now = runtime.clock.now()
    key = weekly.run_key(runtime.config, now) if scheduled else None
    if scheduled and key is None:
        return "not the digest day, or before the digest time"
    owed = [
        p.key for p in runtime.config.products
        if product in (None, p.key) and await asyncio.to_thread(weekly.owe_digest, runtime.db, runtime.config, p, now, key)
    ]
    runtime.wake_delivery()
    return f"weekly digest owed to {', '.join(owed) or 'no product (already posted this week)'}"


def _digest_trigger(runtime: Runtime) -> BaseTrigger:
    settings = runtime.config.digest
    return CronTrigger(
        day_of_week=settings.day, hour=settings.time.hour, minute=settings.time.minute, timezone=runtime.config.release_hours.timezone
    )


CLAIMED_RUNS = ("daily-candidates", "digest")  # claimed per period, and made up at start the same day
async def reminders(runtime: Runtime, product: str | None = None, **_options) -> str:
    """What is due now: reminders, escalations, notes on ready candidates; each sent once across replicas."""
    sent = await asyncio.to_thread(remind, runtime.db, runtime.config, runtime.clock.now())
    runtime.wake_delivery()
    return f"sent {len(sent)} reminders and notes"


async def rollouts(runtime: Runtime, product: str | None = None, **_options) -> str:
    """Do what is due for every running rollout plan: checks, stage starts, halts."""
    counts = await rollouts_round(runtime)
    runtime.wake_delivery()
    return f"{counts['plans']} running plans: {counts['checked']} checked, {counts['moved']} transitions, {counts['failed']} failed"


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("daily-candidates", daily_candidates, _daily_trigger, "cut a candidate for every product with new changes"),
        Job("freeze-ends", freeze_ends, lambda _runtime: IntervalTrigger(minutes=1), "announce freezes that ran out"),
        Job("digest", digest, _digest_trigger, "post the weekly digest in every product channel"),
        Job("reminders", reminders, lambda _runtime: IntervalTrigger(minutes=1), "remind pending engineers, escalate, note ready candidates"),
        Job("rollouts", rollouts, lambda _runtime: IntervalTrigger(seconds=30), "advance, check and halt rollout plans"),
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
            kwargs={"scheduled": True} if job.name in CLAIMED_RUNS else {},
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
    # a bot that was down at the cut (or digest) time makes up the missed run when it starts the same day
    for name in CLAIMED_RUNS:
        scheduler.add_job(_logged, args=(runtime, name), kwargs={"scheduled": True}, id=f"{name}-catch-up", name=f"{name}-catch-up")
    scheduler.add_job(
        _retry_logged, IntervalTrigger(seconds=30), args=(runtime,), id="daily-retry", name="daily-retry",
        coalesce=True, max_instances=1,
    )
    scheduler.start()
    return scheduler


async def _retry_logged(runtime: Runtime) -> None:
    try:
        if summary := await daily_retry(runtime):
            log.info("daily retry: %s", summary)
    except Exception:
        log.exception("daily retry failed")


async def _logged(runtime: Runtime, name: str, **options) -> None:
    try:
        log.info("job %s: %s", name, await run_job(runtime, name, **options))
    except flows.DailyCutFailed as failed:
        log.error("job %s failed: %s", name, failed)  # each product's cause is known: no traceback
    except Exception:
        log.exception("job %s failed", name)
