"""What every benchmark shares: its database, and the closing summary (one line per target,
exit status 1 when one is missed)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import reset_postgres


def bench_database(given: str | None, workdir: str) -> str:
    """The PostgreSQL database given, emptied first, else a fresh SQLite file in `workdir`."""
    if given:
        reset_postgres(given)
        return given
    return f"sqlite:///{Path(workdir) / 'bench.db'}"


def print_summary(lines: list[tuple[str, bool]]) -> int:
    print("\nSummary")
    for text, ok in lines:
        print(f"  {text} {'OK' if ok else 'MISSED'}")
    return 0 if all(ok for _, ok in lines) else 1
