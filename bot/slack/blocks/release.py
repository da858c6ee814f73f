"""Releases: the refusal that offers an exception, the exception modal, history, freezes."""

from __future__ import annotations

import json

from bot.release.hours import Freeze, ReleaseWindow
from bot.release.model import Candidate, Release, ReleaseException
from bot.slack import ids
from bot.slack.blocks.text import clip, escape, mention, private_reply, section


REASON_IN_BUTTON = 400  # characters of the reason kept
BUTTON_VALUE_LIMIT = 2000  # Slack's limit for a button value (a modal's private_metadata holds 3,000)


def exception_state(candidate_id: int, pending_reason: str | None) -> str:
    """The candidate and the reason for pending sign-offs, carried by the button and the modal.

    JSON may write one character as six (a control character is \\u0001), so the reason is cut
    where its quoted form would no longer fit in the button."""
    reason = clip(pending_reason or "", REASON_IN_BUTTON)
    budget = BUTTON_VALUE_LIMIT - len(_state(candidate_id, ""))
    if len(_state(candidate_id, reason)) - len(_state(candidate_id, "")) > budget:
        kept, used = [], 1  # room for the ellipsis
        for char in reason:
            used += len(json.dumps(char, ensure_ascii=False)) - 2
            if used > budget:
                break
            kept.append(char)
        reason = "".join(kept) + "…"
    return _state(candidate_id, reason)


def _state(candidate_id: int, reason: str) -> str:
    return json.dumps({"candidate": candidate_id, "reason": reason}, ensure_ascii=False)


def closed_reply(message: str, candidate: Candidate, pending_reason: str | None) -> dict:
    """The refusal, with a button that lets the release manager choose an exception; the message
    names no one and can quote a freeze's reason, so it is escaped whole."""
    reply = private_reply(escape(message), "If this cannot wait, release with a recorded exception:")
    reply["blocks"].append(
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.RELEASE_EXCEPTION,
                    "text": {"type": "plain_text", "text": "Release with an exception"},
                    "style": "danger",
                    "value": exception_state(candidate.id, pending_reason),
                }
            ],
        }
    )
    return reply


def exception_modal(candidate: Candidate, product_name: str, pending_reason: str) -> dict:
    options = [
        {"text": {"type": "plain_text", "text": kind.label}, "value": kind.value} for kind in ReleaseException
    ]
    return {
        "type": "modal",
        "callback_id": ids.EXCEPTION_VIEW,
        "private_metadata": exception_state(candidate.id, pending_reason),
        "title": {"type": "plain_text", "text": "Release exception"},
        "submit": {"type": "plain_text", "text": "Release now"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"Release *{escape(product_name)} {candidate.version}* outside the rules. The exception, you and your note are recorded and announced."),
            {
                "type": "input",
                "block_id": ids.EXCEPTION_KIND_BLOCK,
                "label": {"type": "plain_text", "text": "Why can it not wait?"},
                "element": {"type": "radio_buttons", "action_id": ids.EXCEPTION_KIND_INPUT, "options": options},
            },
            {
                "type": "input",
                "block_id": ids.EXCEPTION_NOTE_BLOCK,
                "label": {"type": "plain_text", "text": "Note"},
                "element": {"type": "plain_text_input", "action_id": ids.EXCEPTION_NOTE_INPUT, "multiline": True, "max_length": 2000},
            },
        ],
    }


def history_reply(product_name: str, releases: list[Release], window: ReleaseWindow) -> dict:
    if not releases:
        return private_reply(f"{product_name} has not been released with releasebot yet.")
    lines = [f"*The last {len(releases)} releases of {escape(product_name)}:*"]
    for release in releases:
        line = f"• {release.version}, {release.released_at.astimezone(window.zone):%a %Y-%m-%d %H:%M %Z}, by {mention(release.released_by)}"
        if release.exception:
            line += f", exception: {ReleaseException(release.exception).label} ({escape(clip(release.exception_note or '', 200))})"
        if release.pending_reason:
            line += f", with pending verifications: {escape(clip(release.pending_reason, 200))}"
        lines.append(line)
    return private_reply(*lines)


def freezes_reply(freezes: list[Freeze], names: dict[str, str], window: ReleaseWindow) -> dict:
    if not freezes:
        return private_reply("No change freeze is in force.")
    lines = ["*Change freezes in force:*"]
    for freeze in freezes:
        scope = "all products" if freeze.scope == "all" else names.get(freeze.scope, freeze.scope)
        lines.append(f"• {scope} until {window.describe(freeze.ends_at)}, by {mention(freeze.created_by)}: {escape(clip(freeze.reason, 300))}")
    return private_reply(*lines)
