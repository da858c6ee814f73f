"""One person's App Home view from the current state: opened by them, or owed by the outbox."""

from __future__ import annotations

from bot.people.home import assemble
from bot.people.home_facts import gather
from bot.runtime import Runtime
from bot.slack.blocks.home import home_view


def render_home(runtime: Runtime, user: str) -> dict:
    """Blocking (database reads, in one snapshot): call it in a thread."""
    facts = gather(runtime.db, runtime.config, user, runtime.clock.now())
    return home_view(assemble(facts), tuple(p.name for p in runtime.config.products))
