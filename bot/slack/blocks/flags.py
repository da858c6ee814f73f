"""Flags: the approval request message and the private answers of /flag."""

from __future__ import annotations

import json

from bot.config import Config
from bot.flags import definitions
from bot.flags.model import Flag
from bot.slack import ids
from bot.slack.blocks.text import clip, escape, mention, private_reply, section
from storage.flags import FlagChange


def approval_message(text: str, request_id: int) -> list[dict]:
    return [
        section(text),
        {
            "type": "actions",
            "block_id": ids.FLAG_REQUEST_BLOCK,
            "elements": [
                {"type": "button", "action_id": ids.FLAG_APPROVE, "style": "primary", "value": str(request_id), "text": {"type": "plain_text", "text": "Approve"}},
                {"type": "button", "action_id": ids.FLAG_REJECT, "style": "danger", "value": str(request_id), "text": {"type": "plain_text", "text": "Reject"}},
            ],
        },
    ]


def decided_message(text: str) -> dict:
    """What the request message becomes once decided: the buttons go."""
    return {"text": text, "blocks": [section(text)], "replace_original": True}


def list_reply(flags: list[Flag], config: Config) -> dict:
    if not flags:
        return private_reply("There are no flags yet. `/flag create <key>` makes one.")
    lines = [f"*{len(flags)} flag{'s' if len(flags) != 1 else ''}:*"]
    for flag in flags[:100]:
        states = ", ".join(f"{env}: {escape(definitions.describe(flag.definition(env)))}" for env in config.flags.environments)
        lines.append(f"• `{flag.key}` ({flag.type.value}, {mention(flag.owner)}): {states}")
    if len(flags) > 100:
        lines.append(f"…and {len(flags) - 100} more")
    return private_reply(*lines)


def who_is_in(definition: dict, config: Config) -> str:
    """The environment's audience in plain words: segments (and what they match), keys, percentage."""
    said = escape(clip(definitions.describe(definition), 300))
    audience = definitions.audience(definition)
    if audience is None or definition.get("state") == "DISABLED":
        return said
    details = []
    for name in audience.segments:
        rule = config.flags.segments.get(name)
        details.append(f"segment `{escape(name)}`: " + (f"`{escape(clip(json.dumps(rule), 120))}`" if rule else "not configured"))
    if audience.keys:
        details.append(f"keys: {escape(clip(', '.join(audience.keys), 300))}")
    return said + "".join(f"; {d}" for d in details)


def show_reply(flag: Flag, config: Config, changes: list[FlagChange]) -> dict:
    kind = "on/off" if flag.variants is None else "variants " + ", ".join(f"{name}={json.dumps(v)}" for name, v in flag.variants.items())
    lines = [f"*`{flag.key}`* ({flag.type.value}, {escape(clip(kind, 300))}), owner {mention(flag.owner)}"]
    if flag.description:
        lines.append(escape(clip(flag.description, 500)))
    for env in config.flags.environments:
        protected = " (protected)" if env in config.flags.protected else ""
        last = next((c for c in changes if c.environment == env), None)
        when = f"; last change {last.at:%Y-%m-%d %H:%M} UTC by {escape(last.actor) if last.actor == 'api' else mention(last.actor)}" if last else ""
        lines.append(f"• *{env}*{protected}: {who_is_in(flag.definition(env), config)}{when}")
    return private_reply(*lines)


def history_reply(flag: Flag, changes: list[FlagChange]) -> dict:
    if not changes:
        return private_reply(f"`{flag.key}` has no recorded changes.")
    lines = [f"*Changes of `{flag.key}`*, newest first:"]
    for change in changes:
        where = f" in {change.environment}" if change.environment else ""
        detail = ""
        if isinstance(change.before, dict) and isinstance(change.after, dict) and "variants" in change.after and "variants" in change.before:
            before, after = definitions.describe(change.before), definitions.describe(change.after)
            detail = f": {escape(clip(before, 200))} → {escape(clip(after, 200))}"
        approved = f", approved by {mention(change.approver)}" if change.approver else ""
        why = f" ({escape(clip(change.reason, 200))})" if change.reason else ""
        actor = escape(change.actor) if change.actor == "api" else mention(change.actor)
        lines.append(f"• {change.at:%Y-%m-%d %H:%M} UTC {actor} {change.action}{where}{detail}{why}{approved}")
    return private_reply(*lines)
