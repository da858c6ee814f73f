"""The closing summary every benchmark prints: one line per target, exit status 1 when one is missed."""

from __future__ import annotations


def print_summary(lines: list[tuple[str, bool]]) -> int:
    print("\nSummary")
    for text, ok in lines:
        print(f"  {text} {'OK' if ok else 'MISSED'}")
    return 0 if all(ok for _, ok in lines) else 1
