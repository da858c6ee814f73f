"""The candidate message, the non-viable modal and the private status reply.

A candidate can hold hundreds of commits by dozens of engineers; the message stays valid
(at most 50 blocks, 3,000 characters a section) by folding long lists.
"""

from __future__ import annotations

from bot.release.model import Candidate, CandidateState, EngineerStatus, Trigger
from bot.slack import ids
from bot.slack.blocks.text import SECTION_LIMIT, clip, context, escape, mention, private_reply, section

MAX_BLOCKS = 50
SUBJECTS_PER_ENGINEER = 5
STATE_LINES = {
    CandidateState.VERIFYING: ":hourglass_flowing_sand: *Verifying*",
    CandidateState.READY: ":white_check_mark: *Ready for production*",
    CandidateState.RELEASED: ":rocket: *Released*",
    CandidateState.NON_VIABLE: ":no_entry: *Not viable*",
    CandidateState.SUPERSEDED: ":fast_forward: *Superseded*",
}


def summary_text(candidate: Candidate, product_name: str) -> str:
    engineers = candidate.engineers
    done = sum(1 for e in engineers if e.verified)
    return f"{product_name} {candidate.version}: {candidate.state.value.replace('_', ' ')}, {done} of {len(engineers)} verified"


def _engineer_line(candidate: Candidate, engineer: EngineerStatus) -> str:
    mark = ":white_check_mark:" if engineer.verified else ":hourglass_flowing_sand:"
    if engineer.user is None:
        authors = sorted({f"{escape(c.author_name)} <{escape(c.author_email)}>" for c in engineer.changes})
        who = f"Authors without a Slack account ({clip(', '.join(authors), 400)}), verified by the release manager {mention(candidate.release_manager)}"
    else:
        who = mention(engineer.user)
        if engineer.delegate:
            who += f" (verified for them by {mention(engineer.delegate)})"
    subjects = [f"• `{c.sha[:7]}` {escape(clip(c.subject, 90))}" for c in engineer.changes[:SUBJECTS_PER_ENGINEER]]
    hidden = len(engineer.changes) - SUBJECTS_PER_ENGINEER
    if hidden > 0:
        subjects.append(f"…and {hidden} more change{'s' if hidden > 1 else ''}")
    return "\n".join([f"{mark} {who}", *subjects])


def candidate_message(candidate: Candidate, product_name: str, successor_version: str | None = None) -> dict:
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(f"{product_name} {candidate.version}", 150)}},
        section(_summary(candidate, successor_version)),
    ]
    open_for_actions = candidate.in_progress
    footer_blocks = 2 if open_for_actions else 1
    room = MAX_BLOCKS - len(blocks) - footer_blocks
    engineers = candidate.engineers
    shown = engineers if len(engineers) <= room else engineers[: room - 1]
    blocks += [section(_engineer_line(candidate, engineer)) for engineer in shown]
    folded = engineers[len(shown):]
    if folded:
        blocks.append(section(_folded_line(folded)))
    if open_for_actions:
        blocks.append(_actions(candidate))
    blocks.append(context(f"{len(candidate.changes)} changes · revision {candidate.revision}"))
    return {"text": summary_text(candidate, product_name), "blocks": blocks}


def _folded_line(folded: list[EngineerStatus]) -> str:
    """Pending engineers first, since they are the ones to chase; counts stand for what does not fit."""
    pending = [e for e in folded if not e.verified]
    done = len(folded) - len(pending)
    head = f"…and {len(folded)} more engineers, {done} verified. Pending:"
    names, room = [], SECTION_LIMIT - len(head) - 40
    for engineer in pending:
        name = mention(engineer.user) if engineer.user else "unmatched authors"
        if room - len(name) - 1 < 0:
            break
        names.append(name)
        room -= len(name) + 1
    rest = len(pending) - len(names)
    tail = f" and {rest} more" if rest else ""
    return f"{head} {' '.join(names) or 'nobody'}{tail}"


def _summary(candidate: Candidate, successor_version: str | None) -> str:
    trigger = "daily candidate" if candidate.trigger is Trigger.DAILY else f"cut by {mention(candidate.created_by)}"
    lines = [
        STATE_LINES[candidate.state],
        f"Release manager: {mention(candidate.release_manager)} · {trigger} · commits `{candidate.commit_range}`",
    ]
    if candidate.urgent_reason:
        lines.append(f":rotating_light: Urgent: {escape(clip(candidate.urgent_reason, 500))}")
    if candidate.state is CandidateState.NON_VIABLE:
        lines.append(f"*Why:* {escape(clip(candidate.nonviable_reason or '', 800))}")
        lines.append(f"*Next:* {escape(clip(candidate.nonviable_next_steps or '', 800))}")
    if candidate.state is CandidateState.SUPERSEDED:
        lines.append(f"Replaced by {successor_version or 'a newer candidate'}: verify there; sign-offs given here carry over.")
    if candidate.in_progress:
        pending = len(candidate.pending)
        lines.append(
            "Check your changes in the RC environment, then press *Verified*."
            if pending else "Every change is verified."
        )
    return "\n".join(lines)


def _actions(candidate: Candidate) -> dict:
    value = str(candidate.id)
    return {
        "type": "actions",
        "block_id": ids.CANDIDATE_ACTIONS_BLOCK,
        "elements": [
            {
                "type": "button",
                "action_id": ids.VERIFY,
                "text": {"type": "plain_text", "text": "Verified"},
                "style": "primary",
                "value": value,
            },
            {
                "type": "users_select",
                "action_id": ids.DELEGATE,
                "placeholder": {"type": "plain_text", "text": "Delegate my verification to…"},
            },
            {
                "type": "button",
                "action_id": ids.NONVIABLE,
                "text": {"type": "plain_text", "text": "Non-viable"},
                "style": "danger",
                "value": value,
            },
        ],
    }


def nonviable_modal(candidate: Candidate, product_name: str) -> dict:
    return {
        "type": "modal",
        "callback_id": ids.NONVIABLE_VIEW,
        "private_metadata": str(candidate.id),
        "title": {"type": "plain_text", "text": "Non-viable candidate"},
        "submit": {"type": "plain_text", "text": "Declare non-viable"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            section(f"*{escape(product_name)} {candidate.version}* will stop taking sign-offs and the channel will be told."),
            {
                "type": "input",
                "block_id": ids.NONVIABLE_REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Why is it not viable?"},
                "element": {"type": "plain_text_input", "action_id": ids.NONVIABLE_REASON_INPUT, "multiline": True, "max_length": 2000},
            },
            {
                "type": "input",
                "block_id": ids.NONVIABLE_NEXT_BLOCK,
                "label": {"type": "plain_text", "text": "What happens next?"},
                "element": {"type": "plain_text_input", "action_id": ids.NONVIABLE_NEXT_INPUT, "multiline": True, "max_length": 2000},
            },
        ],
    }


def status_reply(candidate: Candidate | None, product_name: str, permalink: str | None) -> dict:
    if candidate is None:
        return private_reply(f"{product_name} has no release candidate yet.")
    lines = [
        f"*{escape(product_name)} {candidate.version}*: {STATE_LINES[candidate.state]}",
        f"Release manager: {mention(candidate.release_manager)}",
    ]
    verified = [e for e in candidate.engineers if e.verified]
    pending = candidate.pending

    def names(group: list[EngineerStatus]) -> str:
        return ", ".join(mention(e.user) if e.user else "authors without a Slack account" for e in group) or "nobody"

    lines.append(f"Verified: {names(verified)}")
    lines.append(f"Pending: {names(pending)}")
    if candidate.delegations:
        lines.append("Delegations: " + ", ".join(f"{mention(d)} for {mention(e)}" for e, d in candidate.delegations.items()))
    if permalink:
        lines.append(f"<{permalink}|The candidate's message>")
    return private_reply(*lines)
