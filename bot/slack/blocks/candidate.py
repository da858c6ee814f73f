"""The candidate message, the non-viable modal and the private status reply.

The notice is a summary that always fits in one Slack message, however large the candidate:
the state, the release manager, the counts, who is pending (folded "and 37 more"), the controls,
and the "Next" line, each in its own block with its own budget, so their sum stays well inside
Slack's 12,000 characters of text per message and nothing clipped can push the "Next" line out.
A small candidate (at most `INLINE_ENGINEERS` engineers) also lists its engineers and their
changes; every candidate has an "All changes" button for the full list (bot/slack/blocks/changes.py).
"""

from __future__ import annotations

from bot.release.model import Candidate, CandidateState, EngineerStatus, Trigger
from bot.slack import ids
from bot.slack.blocks.text import clip, context, escape, escaped, fit, lines_within, mention, private_reply, section

INLINE_ENGINEERS = 6
SUBJECTS_PER_ENGINEER = 5
# Characters of text per part of the notice: header 150 + summary 1,800 + 6 engineers x 1,000 +
# pending 1,200 + next 1,100 + counts, controls and context (< 300) stay under 10,600, below
# Slack's 12,000 for a whole message (tests/test_notice.py builds the worst cases).
SUMMARY_TEXT = 1800
ENGINEER_TEXT = 1000
PENDING_TEXT = 1200
NEXT_TEXT = 1100
PENDING_NAMES = 20
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


def who(candidate: Candidate, engineer: EngineerStatus) -> str:
    """An engineer as the notice and the changes modal name them, with whoever verifies for them."""
    if engineer.user is None:
        authors = ", ".join(sorted({f"{c.author_name} <{c.author_email}>" for c in engineer.changes}))
        return f"Authors without a Slack account ({escaped(authors, 400)}), verified by the release manager {mention(candidate.release_manager)}"
    if engineer.delegate:
        away = "away; " if engineer.away else ""
        return f"{mention(engineer.user)} ({away}verified for them by {mention(engineer.delegate)})"
    return mention(engineer.user)


def change_line(change) -> str:
    return f"• `{change.sha[:7]}` {escaped(change.subject, 90)}"


def engineer_text(candidate: Candidate, engineer: EngineerStatus, limit: int, subjects: int | None = None) -> str:
    mark = ":white_check_mark:" if engineer.verified else ":hourglass_flowing_sand:"
    lines = [change_line(c) for c in engineer.changes[:subjects]]
    hidden = len(engineer.changes) - len(lines)
    return lines_within(f"{mark} {who(candidate, engineer)}", lines, limit, hidden)


def candidate_message(candidate: Candidate, product_name: str, successor_version: str | None = None) -> dict:
    engineers = candidate.engineers
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(f"{product_name} {candidate.version}", 150)}},
        section(fit(_summary(candidate), SUMMARY_TEXT)),
        _counts(candidate),
    ]
    if len(engineers) <= INLINE_ENGINEERS:
        blocks += [section(engineer_text(candidate, e, ENGINEER_TEXT, SUBJECTS_PER_ENGINEER)) for e in engineers]
    if candidate.in_progress and candidate.pending:
        blocks.append(section(_pending_line(candidate)))
    blocks.append(section(fit(_next_line(candidate, successor_version), NEXT_TEXT)))
    if candidate.in_progress:
        blocks.append(_actions(candidate))
    blocks.append(context(f"{len(candidate.changes)} changes · revision {candidate.revision}"))
    return {"text": summary_text(candidate, product_name), "blocks": blocks}


def _counts(candidate: Candidate) -> dict:
    """The counts, with the "All changes" button beside them in every state."""
    matched = [e for e in candidate.engineers if e.user is not None]
    done = sum(1 for e in matched if e.verified)
    changes = len(candidate.changes)
    line = f"*{changes} change{'s' if changes != 1 else ''} by {len(matched)} engineer{'s' if len(matched) != 1 else ''}, {done} verified*"
    unmatched = len(candidate.changes) - sum(len(e.changes) for e in matched)
    if unmatched:
        line += f" (and {unmatched} by authors without a Slack account)"
    return {
        **section(line),
        "accessory": {
            "type": "button",
            "action_id": ids.CHANGES,
            "text": {"type": "plain_text", "text": "All changes"},
            "value": str(candidate.id),
        },
    }


def _pending_line(candidate: Candidate) -> str:
    """Who to chase, folded past `PENDING_NAMES` names into a count."""
    names = []
    for engineer in candidate.pending:
        if engineer.user is None:
            names.append("authors without a Slack account")
        elif engineer.delegate:
            away = "away, " if engineer.away else ""
            names.append(f"{mention(engineer.user)} ({away}to {mention(engineer.delegate)})")
        else:
            names.append(mention(engineer.user))
    shown = names[:PENDING_NAMES]
    rest = len(names) - len(shown)
    return fit(f"*Pending ({len(names)}):* {', '.join(shown)}{f' and {rest} more' if rest else ''}", PENDING_TEXT)


def _summary(candidate: Candidate) -> str:
    trigger = "daily candidate" if candidate.trigger is Trigger.DAILY else f"cut by {mention(candidate.created_by)}"
    lines = [
        STATE_LINES[candidate.state],
        f"Release manager: {mention(candidate.release_manager)} · {trigger} · commits `{candidate.commit_range}`",
    ]
    if candidate.urgent_reason:
        lines.append(f":rotating_light: Urgent: {escaped(candidate.urgent_reason, 500)}")
    if candidate.state is CandidateState.NON_VIABLE:
        lines.append(f"*Why:* {escaped(candidate.nonviable_reason or '', 800)}")
    return "\n".join(lines)


def _next_line(candidate: Candidate, successor_version: str | None) -> str:
    """What happens next, in every state: the one line the notice never drops."""
    manager = mention(candidate.release_manager)
    if candidate.state is CandidateState.NON_VIABLE:
        return f"*Next:* {escaped(candidate.nonviable_next_steps or 'the release manager will say.', 800)}"
    if candidate.state is CandidateState.SUPERSEDED:
        return f"*Next:* Replaced by {escaped(successor_version or 'a newer candidate', 60)}: verify there; sign-offs given here carry over."
    if candidate.state is CandidateState.RELEASED:
        return "*Next:* Nothing; these changes are in production."
    if candidate.pending:
        return (
            "*Next:* Check your changes in the RC environment (*All changes* lists them), then press *Verified*; "
            f"when every change is verified, {manager} releases it."
        )
    return f"*Next:* Every change is verified; {manager} releases it to production with `/rc release`."


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


def verify_prompt(text: str, candidate_id: int) -> list[dict]:
    """A direct message with the candidate's own "Verified" button: the same action and value as on
    the notice, so the one listener handles it wherever it is pressed."""
    return [
        section(text),
        {
            "type": "actions",
            "block_id": ids.VERIFY_PROMPT_BLOCK,
            "elements": [
                {
                    "type": "button", "action_id": ids.VERIFY, "style": "primary", "value": str(candidate_id),
                    "text": {"type": "plain_text", "text": "Verified"},
                }
            ],
        },
    ]


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
