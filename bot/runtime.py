"""What a running bot holds: settings, database, Slack client, clock and randomness.

Built once per process by the CLI; tests build their own with a fixed clock and a
seeded generator, so every rule that depends on time or chance is exact under test.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from bot.clock import Clock, SystemClock
from bot.config import Config, Environment
from bot.flags.snapshots import Snapshots
from bot.slack.client import SlackClient, make_client
from bot.slack.pacing import Pacer
from storage import Database


@dataclass
class Runtime:
    env: Environment
    config: Config
    db: Database
    slack: SlackClient
    clock: Clock = field(default_factory=SystemClock)
    rng: random.Random = field(default_factory=random.SystemRandom)
    wake_delivery: Callable[[], None] = lambda: None  # set by the delivery worker when it runs
    hook_backoff: tuple[float, ...] = (1.0, 2.0, 4.0)  # seconds between deploy hook attempts
    # users.lookupByEmail is Tier 3 (about 50 a minute): a first cut with many new authors is paced
    lookup_pacer: Pacer = field(default_factory=lambda: Pacer(per_second=50 / 60, burst=5))
    # products whose scheduled daily cut failed for a transient reason: (run key, failures, next try)
    daily_retries: dict[str, tuple[str, int, dt.datetime]] = field(default_factory=dict)

    @cached_property
    def flag_snapshots(self) -> Snapshots:
        return Snapshots(self.db, self.config.flags.segments)

    @classmethod
    def create(cls, env: Environment, config: Config, **overrides) -> Runtime:
        return cls(
            env=env,
            config=config,
            db=Database(env.database_url),
            slack=make_client(env.slack_bot_token, env.slack_api_url),
            **overrides,
        )
