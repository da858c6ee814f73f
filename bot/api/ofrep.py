"""OpenFeature endpoints: OFREP evaluation and the flagd.json export (filled in with the flag evaluator)."""

from __future__ import annotations

from starlette.routing import Route

from bot.runtime import Runtime


def routes(runtime: Runtime) -> list[Route]:
    return []
