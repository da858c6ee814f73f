"""What evaluations read: one environment's flags, cached per process and checked against the
store's version on every call, so no process ever answers from a stale cache."""

from __future__ import annotations

import threading

import storage.flags as store
from bot.flags.model import FlagSnapshot
from storage import Database


class Snapshots:
    def __init__(self, db: Database):
        self.db = db
        self._cache: dict[str, FlagSnapshot] = {}
        self._lock = threading.Lock()

    def current(self, environment: str) -> FlagSnapshot:
        """One primary-key read when nothing changed; a reload of the environment when it did."""
        with self.db.reading() as session:
            version = store.version(session)
            cached = self._cache.get(environment)
            if cached is not None and cached.version == version:
                return cached
            snapshot = FlagSnapshot(environment, version, store.environment_states(session, environment))
        with self._lock:
            self._cache[environment] = snapshot
        return snapshot
