"""What evaluations read: one environment's flags, cached per process and checked against the
store's version on every call, so no process ever answers from a stale cache."""

from __future__ import annotations

import threading

import storage.flags as store
from bot.flags.model import FlagSnapshot
from storage import Database


class Snapshots:
    def __init__(self, db: Database, evaluators: dict | None = None):
        self.db = db
        self.evaluators = dict(evaluators or {})
        self._cache: dict[str, FlagSnapshot] = {}
        self._lock = threading.Lock()
        self._version = store.VersionProbe(db)

    def current(self, environment: str) -> FlagSnapshot:
        """One primary-key read when nothing changed; a reload of the environment when it did."""
        cached = self._cache.get(environment)
        if cached is not None and self._version.read() == cached.version:
            return cached
        with self.db.reading() as session:
            snapshot = FlagSnapshot(
                environment, store.version(session), store.environment_definitions(session, environment), self.evaluators
            )
        with self._lock:
            self._cache[environment] = snapshot
        return snapshot

    def current_without_waiting(self, environment: str) -> FlagSnapshot | None:
        """What `current` would return, when that takes no waiting: the cached snapshot, checked
        with the same version read on a SQLite file, on a connection that never waits for a lock
        (busy timeout 0; in WAL mode readers do not wait for writers). None when the caller has to
        call `current` in a worker thread: PostgreSQL (a network round trip), a change to load,
        or a busy file. An event loop calls this first and skips the thread hop, which costs more
        than the read."""
        cached = self._cache.get(environment)
        if cached is None:
            return None
        version = self._version.read_without_waiting()
        return cached if version is not None and version == cached.version else None
