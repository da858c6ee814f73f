"""/flag plan: make a rollout plan, or see and steer one. Parsed here; the plan service decides."""

from __future__ import annotations

from bot.errors import Refused
from bot.rollouts import service
from bot.runtime import Runtime
from bot.slack.blocks.rollouts import decided_reply, status_reply

STEERING = {"status", "go", "no-go", "pause", "resume", "rollback", "abort"}
USAGE = "`/flag plan <key> [template] [env]` or `/flag plan status|go|no-go|pause|resume|rollback|abort <key> [env]`."


def plan_reply(runtime: Runtime, words: list[str], user: str) -> dict:
    config, now = runtime.config, runtime.clock.now()
    window = service.window(config)
    if not words:
        raise Refused(f"Name the flag: {USAGE}")
    if words[0].lower() not in STEERING:
        key, rest = words[0], words[1:]
        environment = rest.pop() if rest and rest[-1] in config.flags.environments else None
        if len(rest) > 1:
            raise Refused(f"I did not understand that. {USAGE}")
        view = service.create(runtime.db, config, key, rest[0] if rest else None, environment, user, now)
        return decided_reply(view, window, now)
    action, rest = words[0].lower().replace("-", "_"), words[1:]
    if not rest:
        raise Refused(f"Name the flag: {USAGE}")
    key, rest = rest[0], rest[1:]
    environment = rest.pop(0) if rest and rest[0] in config.flags.environments else None
    current = service.find(runtime.db, config, key, environment, now)
    if action == "status":
        return status_reply(current, window, now)
    reason = " ".join(rest)
    if reason and action not in ("no_go", "pause", "rollback", "abort"):
        raise Refused(f"I did not understand `{{extra}}`. {USAGE}", extra=reason[:60])
    view = service.decide(runtime.db, config, current.stored.plan.id, action, user, now, reason=reason)
    return decided_reply(view, window, now)
