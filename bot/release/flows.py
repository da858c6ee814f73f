"""Cutting candidates end to end: read the repository, match authors to people, record the cut.

The slow parts (git, Slack look-ups) run before the transaction, so the transaction is short.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.changes.git import RepositoryError, commits_since
from bot.config import Product
from bot.errors import Refused
from bot.release import deploy_hook, releasing, service
from bot.release.model import Release, Trigger
from bot.release.service import CutOutcome, CutRequest
from bot.runtime import Runtime
from storage.slack_users import SlackUser

log = logging.getLogger(__name__)
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Directory(Protocol):
    """Who people are: Slack users by id, and by commit email."""

    async def people(self, user_ids: list[str]) -> dict[str, SlackUser]: ...

    async def users_for_emails(self, emails: list[str]) -> dict[str, str | None]: ...


async def cut(runtime: Runtime, directory: Directory, request: CutRequest) -> CutOutcome:
    product = request.product
    now = runtime.clock.now()
    base = await asyncio.to_thread(service.base_for_next_cut, runtime.db, product.key)
    try:
        head, commits = await asyncio.to_thread(commits_since, product.repository, product.branch, base, now)
    except RepositoryError as exc:
        raise Refused(f"Cannot read the repository of {product.name} ({product.branch}): {exc}") from None
    authors = await directory.users_for_emails(sorted({c.author_email for c in commits}))
    people = await directory.people(sorted({user for user in authors.values() if user}))
    outcome = await asyncio.to_thread(
        service.record_cut, runtime.db, runtime.config, request, head, base, commits, authors, people, now, runtime.rng
    )
    runtime.wake_delivery()
    return outcome


def daily_run_key(runtime: Runtime) -> str | None:
    """Today's run key if today is a cut day and the cut time has come, in the configured time zone."""
    local = runtime.clock.now().astimezone(ZoneInfo(runtime.config.release_hours.timezone))
    settings = runtime.config.daily_candidates
    if WEEKDAY_NAMES[local.weekday()] not in settings.days or local.time() < settings.time:
        return None
    return local.date().isoformat()


async def daily_candidates(
    runtime: Runtime, directory: Directory, product_key: str | None = None, *, run_key: str | None = None
) -> list[str]:
    """Cut every product (or one) with new changes; one product's failure does not stop the others."""
    products: list[Product] = [p for p in runtime.config.products if product_key in (None, p.key)]
    summaries, failures, errors = [], [], {}
    for product in products:
        request = CutRequest(product=product, trigger=Trigger.DAILY, actor=None, run_key=run_key)
        try:
            summaries.append((await cut(runtime, directory, request)).summary)
        except Refused as exc:
            log.error("daily cut of %s failed: %s", product.key, exc)
            failures.append(f"{product.key}: {exc}")
            errors[product.key] = exc
        except Exception as exc:  # a Slack or database blip must not cost the other products their cut
            log.exception("daily cut of %s failed", product.key)
            failures.append(f"{product.key}: {type(exc).__name__}: {exc}"[:300])
            errors[product.key] = exc
    if failures:
        raise DailyCutFailed(summaries, failures, errors)
    return summaries


class DailyCutFailed(Exception):
    def __init__(self, summaries: list[str], failures: list[str], errors: dict[str, Exception] | None = None):
        super().__init__("; ".join(failures))
        self.summaries = summaries
        self.failures = failures
        self.errors = errors or {}  # by product key, for the scheduler to tell a blip from a refusal



RELEASE_LEASE = dt.timedelta(minutes=5)


async def release(runtime: Runtime, request: releasing.ReleaseRequest) -> Release:
    """Check, call the deploy hook, then mark released; a hook that keeps failing releases nothing.

    A lease per product makes a double click, or clicks on two replicas, call the hook once.
    """
    product = request.product
    token = uuid.uuid4().hex
    if not await asyncio.to_thread(releasing.begin_release, runtime.db, product.key, token, runtime.clock.now(), RELEASE_LEASE):
        raise Refused(f"A release of {product.name} is already under way.")
    try:
        candidate = await asyncio.to_thread(releasing.check_release, runtime.db, runtime.config, request, runtime.clock.now())
        if product.deploy_hook is not None:
            body = deploy_hook.payload(candidate, product.name, request.actor, request.exception, request.note, runtime.clock.now())
            try:
                await deploy_hook.call(product.deploy_hook, body, runtime.hook_backoff)
            except deploy_hook.DeployHookFailed as exc:
                await asyncio.to_thread(
                    releasing.record_hook_failure, runtime.db, runtime.config, request, candidate, str(exc), runtime.clock.now()
                )
                runtime.wake_delivery()
                raise Refused(
                    f"The deploy hook failed ({exc}), so {candidate.version} was not released; the release manager has been told."
                ) from None
        done = await asyncio.to_thread(releasing.record_release, runtime.db, runtime.config, request, candidate.id, runtime.clock.now())
    finally:
        await asyncio.to_thread(releasing.end_release, runtime.db, product.key, token)
    runtime.wake_delivery()
    return done
