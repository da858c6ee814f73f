"""One person's App Home view from the current state: opened by them, or owed by the outbox."""

from __future__ import annotations

import datetime as dt

import storage.people as people_store
import storage.slack_users as slack_users
from bot.people import away as away_rules
from bot.people.home import Away, assemble
from bot.people.home_facts import gather
from bot.runtime import Runtime
from bot.slack.blocks.home import home_view


def render_home(runtime: Runtime, user: str) -> dict:
    """Blocking (database reads): call it in a thread."""
    now = runtime.clock.now()
    facts = gather(runtime.db, runtime.config, user, now, away=_away(runtime, user, now))
    return home_view(assemble(facts), tuple(p.name for p in runtime.config.products))


def _away(runtime: Runtime, user: str, now: dt.datetime) -> Away | None:
    """The person's absence, its end in their own Slack time zone (as cached), else the release hours'."""
    with runtime.db.reading() as session:
        plan = people_store.away_of(session, user, now)
        known = slack_users.users(session, [user], dt.datetime.min.replace(tzinfo=dt.timezone.utc)).get(user)
    if plan is None:
        return None
    until = away_rules.describe_until(plan.until, known.timezone if known else None, runtime.config.release_hours.timezone)
    return Away(until=until, delegate=plan.delegate)
