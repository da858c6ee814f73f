"""The rollout plan message (rendered from the plan's state when sent, updated in place) and the
private answers of `/flag plan`."""

from __future__ import annotations

import datetime as dt

from bot.release.hours import ReleaseWindow
from bot.rollouts.plan import AWAITING_APPROVAL, AWAITING_GO, HALTABLE, Stage
from bot.rollouts.service import View
from bot.slack import ids
from bot.slack.blocks.text import context, escape, mention, private_reply, section

STATE_WORDS = {
    "awaiting_approval": "awaiting approval", "waiting_window": "waiting for the release hours", "baking": "baking",
    "awaiting_go": "awaiting Go", "paused": "paused", "completed": "completed", "rolled_back": "rolled back", "aborted": "aborted",
}


def _duration(bake: dt.timedelta | None) -> str:
    if not bake:
        return "no bake"
    seconds = int(bake.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"bake {seconds // size}{unit}"
    return f"bake {seconds}s"


def _stage_line(index: int, stage: Stage, current: int, window: ReleaseWindow, view: View, now: dt.datetime) -> str:
    mark = "✅" if index < current else "▶️" if index == current else "▫️"
    who = [f"segment{'s' if len(stage.segments) > 1 else ''} {escape(', '.join(stage.segments))}"] if stage.segments else []
    who.append(f"{stage.percent}%")
    line = f"{mark} *{escape(stage.name)}*: {' + '.join(who)}, {_duration(stage.bake)}"
    if index == current and view.status.bake_ends_at and view.status.bake_ends_at > now:
        line += f" (until {window.describe(view.status.bake_ends_at, now)})"
    return line


def summary(view: View, window: ReleaseWindow, now: dt.datetime) -> str:
    plan, status = view.stored.plan, view.status
    head = (
        f"*Rollout plan #{plan.id}* for `{plan.flag}` in {escape(plan.environment)} ({escape(plan.template_name)}, "
        f"owner {mention(plan.owner)}): *{STATE_WORDS[status.state]}*"
    )
    return head + (f": {escape(status.reason)}" if status.reason else "")


def plan_message(view: View, window: ReleaseWindow, now: dt.datetime) -> dict:
    plan, status, stored = view.stored.plan, view.status, view.stored
    template = plan.template
    text = summary(view, window, now)
    blocks = [section(text)]
    stages = [_stage_line(i, s, status.stage, window, view, now) for i, s in enumerate(template.stages)]
    blocks.append(section("*Stages* (audiences add up):\n" + "\n".join(stages)))
    if template.approvals:
        given = dict(status.approvals)
        lines = [f"{escape(role)}: {mention(given[role]) + ' ✅' if role in given else 'waiting'}" for role in template.approvals]
        blocks.append(section("*Approvals*: " + " · ".join(lines)))
    if template.checks:
        last = {c.name: c for c in stored.checks}
        lines = []
        for check in template.checks:
            bound = f"max {check.max:g}" if check.max is not None else f"min {check.min:g}"
            result = last.get(check.name)
            value = "not run yet" if result is None else f"{result.value:g}" if result.value is not None else "no value"
            verdict = "" if result is None else " ✅" if result.passed else f" ⚠️ {escape(result.reason)}"
            lines.append(f"• {escape(check.name)}: {value} ({bound}, on fail: {check.on_fail}){verdict}")
        blocks.append(section("*Checks*:\n" + "\n".join(lines)))
    if status.running and status.stage >= 0:
        back = template.stages[status.stage - 1].name if status.stage > 0 else "nobody (the flag off)"
        blocks.append(context(f"Roll back: `/flag plan rollback {plan.flag} {escape(plan.environment)}` goes back to {escape(back)}."))
    buttons = _buttons(view)
    if buttons:
        blocks.append({"type": "actions", "block_id": ids.PLAN_ACTIONS_BLOCK, "elements": buttons})
    return {"text": text, "blocks": blocks}


def _button(action_id: str, label: str, plan_id: int, style: str | None = None) -> dict:
    button = {"type": "button", "action_id": action_id, "value": str(plan_id), "text": {"type": "plain_text", "text": label[:75]}}
    if style:
        button["style"] = style
    return button


def _buttons(view: View) -> list[dict]:
    plan, status = view.stored.plan, view.status
    if status.state == AWAITING_APPROVAL:
        approve = [_button(f"{ids.PLAN_APPROVE}:{role}", f"Approve as {role}", plan.id, "primary") for role in status.missing_roles]
        return [*approve, _button(ids.PLAN_REJECT, "Reject", plan.id, "danger")]
    found = []
    if status.state == AWAITING_GO:
        found.append(_button(ids.PLAN_GO, "Go", plan.id, "primary"))
    if status.state in HALTABLE and not status.frozen:
        found.append(_button(ids.PLAN_NO_GO, "No-go", plan.id, "danger"))
    return found


def status_reply(view: View, window: ReleaseWindow, now: dt.datetime) -> dict:
    message = plan_message(view, window, now)
    recent = [f"{e.at:%Y-%m-%d %H:%M} UTC {escape(e.kind)} by {_actor(e.actor)}" for e in view.events[-8:]]
    blocks = [b for b in message["blocks"] if b["type"] != "actions"]
    return {"response_type": "ephemeral", "text": message["text"], "blocks": [*blocks, context("\n".join(recent))]}


def _actor(actor: str) -> str:
    return mention(actor) if actor[:1] in "UW" and actor.isalnum() else escape(actor)


def decided_reply(view: View, window: ReleaseWindow, now: dt.datetime) -> dict:
    return private_reply(summary(view, window, now))


def reason_modal(action: str, plan_id: int) -> dict:
    title = "No-go" if action == "no_go" else "Reject the plan"
    return {
        "type": "modal",
        "callback_id": ids.PLAN_REASON_VIEW,
        "private_metadata": f"{action}:{plan_id}",
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input", "block_id": ids.PLAN_REASON_BLOCK, "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input", "action_id": ids.PLAN_REASON_INPUT, "multiline": True, "max_length": 500},
            }
        ],
    }
