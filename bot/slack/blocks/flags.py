"""Flags: the approval request message and the private answers of /flag."""

from __future__ import annotations

from bot.config import Config
from bot.flags.model import Flag
from bot.slack import ids
from bot.slack.blocks.text import clip, escape, mention, private_reply, section
from storage.flags import FlagChange, state_from_json


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
        states = ", ".join(f"{env}: {flag.state(env).describe()}" for env in config.flags.environments)
        lines.append(f"• `{flag.key}` ({flag.type.value}, {mention(flag.owner)}): {states}")
    if len(flags) > 100:
        lines.append(f"…and {len(flags) - 100} more")
    return private_reply(*lines)


def show_reply(flag: Flag, config: Config, changes: list[FlagChange]) -> dict:
    lines = [f"*`{flag.key}`* ({flag.type.value}), owner {mention(flag.owner)}"]
    if flag.description:
        lines.append(escape(clip(flag.description, 500)))
    for env in config.flags.environments:
        state = flag.state(env)
        targets = f"; targets: {escape(clip(', '.join(state.targets), 300))}" if state.targets else ""
        protected = " (protected)" if env in config.flags.protected else ""
        last = next((c for c in changes if c.environment == env), None)
        when = f"; last change {last.at:%Y-%m-%d %H:%M} UTC by {mention(last.actor)}" if last else ""
        rollout = f"; rollout {state.rollout}%" if state.enabled else ""
        lines.append(f"• *{env}*{protected}: {'on' if state.enabled else 'off'}{rollout}{targets}{when}")
    return private_reply(*lines)


def history_reply(flag: Flag, changes: list[FlagChange]) -> dict:
    if not changes:
        return private_reply(f"`{flag.key}` has no recorded changes.")
    lines = [f"*Changes of `{flag.key}`*, newest first:"]
    for change in changes:
        where = f" in {change.environment}" if change.environment else ""
        detail = ""
        if change.before is not None and change.after is not None and "enabled" in change.after:
            detail = f": {state_from_json(change.before).describe()} → {state_from_json(change.after).describe()}"
        approved = f", approved by {mention(change.approver)}" if change.approver else ""
        why = f" ({escape(clip(change.reason, 200))})" if change.reason else ""
        lines.append(f"• {change.at:%Y-%m-%d %H:%M} UTC {mention(change.actor)} {change.action}{where}{detail}{why}{approved}")
    return private_reply(*lines)
