"""The thread, DM and channel messages the services owe, rendered when they are sent.

A service owes facts, `{"event": kind, ...values}`; this module turns each kind into mrkdwn.
Only the fields that hold user ids become mentions, and only when they look like an id; every
other value goes through `escape`, so nothing typed or committed can ping or disguise a link.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.release.model import ReleaseException
from bot.slack.blocks.text import clip, escape, mention

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,20}$")
ROLE = (
    "As release manager you coordinate this candidate: every engineer with changes in it verifies them "
    "in the RC environment (or asks a teammate to), you tell the channel if it is not viable and what happens "
    "next, and once it is ready you release it to production inside the release hours."
)
NO_ACCOUNT = "authors without a Slack account"

Renderer = Callable[[dict], str]
RENDERERS: dict[str, Renderer] = {}


def render(payload: dict) -> str | None:
    """The message text of an outbox payload; None for an event kind this version does not know."""
    kind = payload.get("event")
    if kind is None:
        return payload.get("text", "")  # written before events existed: composed (and owned) by that code
    renderer = RENDERERS.get(kind)
    return renderer(payload) if renderer else None


def renders(kind: str) -> Callable[[Renderer], Renderer]:
    def register(renderer: Renderer) -> Renderer:
        RENDERERS[kind] = renderer
        return renderer

    return register


def who(user: str | None, nobody: str = "someone") -> str:
    """A mention for a user id we hold; anything else is shown as text."""
    if not user:
        return nobody
    return mention(user) if USER_ID.match(user) else escape(user)


def text(value: object, limit: int = 2000) -> str:
    return escape(clip(str(value if value is not None else ""), limit))


def _release(payload: dict) -> str:
    return f"*{text(payload.get('product'), 150)} {text(payload.get('version'), 60)}*"


def _changes(count: int) -> str:
    return f"{count} change{'s' if count != 1 else ''}"


# ---------------------------------------------------------------- release candidates


@renders("cut")
def cut(p: dict) -> str:
    by = "the daily schedule" if p.get("daily") else who(p.get("by"))
    return f"Cut by {by}. Release manager {who(p.get('manager'))}: {text(p.get('choice'), 500)}."


@renders("release_manager")
def release_manager(p: dict) -> str:
    now = "now " if p.get("handed_over") else ""
    return f"You are {now}the release manager of {_release(p)}. {ROLE}"


@renders("superseded")
def superseded(p: dict) -> str:
    reason = f" (urgent: {text(p['reason'], 500)})" if p.get("reason") else ""
    by = "the daily schedule" if p.get("daily") else who(p.get("by"))
    return (
        f"Superseded by {text(p.get('successor'), 60)}{reason}, cut by {by}. Verify in the new candidate; "
        f"{_changes(int(p.get('carried', 0)))} already verified here stay verified."
    )


@renders("urgent_cut")
def urgent_cut(p: dict) -> str:
    return (
        f"{who(p.get('by'))} cut an urgent candidate of *{text(p.get('product'), 150)}*, {text(p.get('version'), 60)}, "
        f"replacing {text(p.get('replaces'), 60)}: {text(p.get('reason'), 500)}. Changes you already verified stay verified."
    )


@renders("verified")
def verified(p: dict) -> str:
    by, engineers = p.get("by"), list(p.get("engineers") or [])
    others = [e for e in engineers if e != by]
    if not others:
        return f"{who(by)} verified their changes."
    names = ", ".join(f"the changes of {NO_ACCOUNT}" if e is None else who(e) for e in others)
    own = "their changes and " if by in engineers else ""
    return f"{who(by)} verified {own}{names}."


@renders("ready")
def ready(p: dict) -> str:
    return "Every change is verified: the candidate is ready for production."


@renders("manager_ready")
def manager_ready(p: dict) -> str:
    return f"{_release(p)} is ready: every change is verified."


@renders("delegated")
def delegated(p: dict) -> str:
    return f"{who(p.get('by'))} asked {who(p.get('to'))} to verify their changes."


@renders("verify_for")
def verify_for(p: dict) -> str:
    """The DM to the teammate who verifies someone's changes in their absence."""
    channel = p.get("product_channel") or ""
    where = f"<#{channel}>" if CHANNEL_ID.match(channel) else "the release channel"
    subjects = "\n".join(f"• `{text(sha, 12)}` {text(subject, 200)}" for sha, subject in p.get("subjects") or [])
    more = f"\n…and {int(p['more'])} more" if p.get("more") else ""
    return (
        f"{who(p.get('by'))} asked you to verify their changes in {_release(p)} "
        f"in their absence. Check them in the RC environment, then press *Verified* on the candidate in "
        f"{where}.\n{subjects}{more}"
    )


@renders("nonviable")
def nonviable(p: dict) -> str:
    return (
        f"{who(p.get('by'))} declared {text(p.get('version'), 60)} *not viable*.\n"
        f"*Why:* {text(p.get('reason'))}\n*Next:* {text(p.get('next_steps'))}"
    )


@renders("hand_over")
def hand_over(p: dict) -> str:
    return f"{who(p.get('by'))} handed the release manager role from {who(p.get('from'))} to {who(p.get('to'))}."


@renders("released")
def released(p: dict) -> str:
    lines = [f":rocket: {who(p.get('by'))} released {_release(p)} to production."]
    if p.get("exception"):
        label = ReleaseException(p["exception"]).label
        lines.append(f"*Exception:* {label}. {text(p.get('note'))}".rstrip())
    if p.get("pending_reason"):
        names = ", ".join(who(user, NO_ACCOUNT) for user in p.get("pending") or [])
        lines.append(f"*Released with pending verifications* ({names}): {text(p['pending_reason'])}")
    return "\n".join(lines)


@renders("deploy_hook_failed")
def deploy_hook_failed(p: dict) -> str:
    return (
        f"The deploy hook of *{text(p.get('product'), 150)}* failed for {text(p.get('version'), 60)} "
        f"({text(p.get('error'), 500)}); it was not released. Try `/rc release` again once the deploy pipeline answers."
    )


# ---------------------------------------------------------------- away and reminders


def _subjects(p: dict) -> str:
    subjects = "\n".join(f"• `{text(sha, 12)}` {text(subject, 200)}" for sha, subject in p.get("subjects") or [])
    return subjects + (f"\n…and {int(p['more'])} more" if p.get("more") else "")


def _people(users: list, nobody: str = NO_ACCOUNT) -> str:
    return ", ".join(who(user, nobody) for user in users)


@renders("away_delegations")
def away_delegations(p: dict) -> str:
    pairs = [f"{who(delegate)} for {who(engineer)}" for engineer, delegate in p.get("pairs") or []]
    return f"Away at the cut, so verified for them: {', '.join(pairs)}."


@renders("away_delegate")
def away_delegate(p: dict) -> str:
    """The DM to the teammate named by `/rc away`, for each candidate cut while the person is away."""
    return (
        f"{who(p.get('by'))} is away until {text(p.get('until'), 100)} and asked you to verify their changes in "
        f"{_release(p)}. Check them in the RC environment, then press *Verified*.\n{_subjects(p)}"
    )


@renders("reminder")
def reminder(p: dict) -> str:
    """An engineer (or whoever verifies for them) still pending some hours after the cut."""
    me = p.get("user")
    others = [engineer for engineer in p.get("engineers") or [] if engineer != me]
    whose = "your changes" if me in (p.get("engineers") or []) else ""
    if others:
        whose += (" and " if whose else "") + f"the changes of {_people(others)}"
    return (
        f"Reminder: {_release(p)} still waits for {whose or 'your verification'}. Check them in the RC environment, "
        "then press *Verified* (here or on the candidate's message)."
    )


@renders("escalation")
def escalation(p: dict) -> str:
    names = _people(list(p.get("pending") or []))
    return f"{who(p.get('manager'))}: {text(p.get('version'), 60)} is still waiting for {names}."


@renders("ready_open")
def ready_open(p: dict) -> str:
    return f"The release window is open and {_release(p)} is ready: release it with `/rc release`."


@renders("week_end")
def week_end(p: dict) -> str:
    return (
        f"The release window has closed for the week with {text(p.get('version'), 60)} ready but not released. "
        f"Next opening: {text(p.get('next_open'), 100)}."
    )


# ---------------------------------------------------------------- freezes


@renders("freeze_started")
def freeze_started(p: dict) -> str:
    return (
        f":snowflake: {who(p.get('by'))} froze changes to {text(p.get('scope'), 150)} until "
        f"{text(p.get('until'), 100)}: {text(p.get('reason'))}. Only exception releases go out until then."
    )


@renders("freeze_ended")
def freeze_ended(p: dict) -> str:
    opening = f"{who(p['by'])} ended the change freeze" if p.get("by") else "The change freeze has ended"
    return (
        f":sunny: {opening} for {text(p.get('scope'), 150)} ({text(p.get('reason'))}). "
        "Releases follow the usual hours again."
    )


# ---------------------------------------------------------------- feature flags


def _flag(p: dict) -> str:
    return f"`{text(p.get('key'), 70)}`"


def _described(p: dict) -> str:
    """The flag's description as a quote under the message, so approvers know what they decide."""
    return f"\n>{text(p['description'], 500)}" if p.get("description") else ""


@renders("flag_created")
def flag_created(p: dict) -> str:
    return (
        f":triangular_flag_on_post: {who(p.get('by'))} created the {text(p.get('type'), 20)} flag {_flag(p)} "
        f"(off everywhere).{_described(p)}"
    )


@renders("flag_changed")
def flag_changed(p: dict) -> str:
    by = who(p.get("by")) + (f", approved by {who(p['approver'])}" if p.get("approver") else "")
    return (
        f"{_flag(p)} in *{text(p.get('environment'), 40)}* is now {text(p.get('state'), 200)} "
        f"(was {text(p.get('before'), 200)}), by {by}."
    )


@renders("flag_request")
def flag_request(p: dict) -> str:
    return (
        f"{who(p.get('by'))} asks to {text(p.get('change'), 500)} {_flag(p)} in *{text(p.get('environment'), 40)}*, "
        f"a protected environment. {who(p.get('owner'))} (the owner) or an admin can approve.{_described(p)}"
    )


@renders("flag_approved")
def flag_approved(p: dict) -> str:
    where = f"{_flag(p)} in {text(p.get('environment'), 40)}"
    outcome = f"{where} is now {text(p.get('state'), 200)}." if p.get("changed") else (
        f"{where} is already {text(p.get('state'), 200)}; nothing changed."
    )
    return f"{who(p.get('by'))} approved your request: {outcome}"


@renders("flag_rejected")
def flag_rejected(p: dict) -> str:
    return (
        f"{who(p.get('by'))} rejected your request to {text(p.get('change'), 500)} {_flag(p)} "
        f"in {text(p.get('environment'), 40)}."
    )


@renders("flag_owner")
def flag_owner(p: dict) -> str:
    return f"{_flag(p)} now belongs to {who(p.get('owner'))} (was {who(p.get('previous'))}), by {who(p.get('by'))}."


@renders("flag_archived")
def flag_archived(p: dict) -> str:
    return f"{who(p.get('by'))} archived {_flag(p)}; applications now get their default value."


@renders("flag_defined")
def flag_defined(p: dict) -> str:
    return (
        f"{_flag(p)} in *{text(p.get('environment'), 40)}* is now {text(p.get('state'), 200)} "
        f"(was {text(p.get('before'), 200)}), set through the API by {who(p.get('by'))}."
    )


# ---------------------------------------------------------------- rollout plans

PLAN_EVENT_WORDS = {
    "created": "made the plan", "approved": "approved", "rejected": "rejected the plan", "stage_started": "started stage",
    "go": "said Go", "no_go": "said No-go", "paused": "paused the plan", "resumed": "resumed the plan",
    "rolled_back": "rolled back to", "aborted": "aborted the plan", "completed": "completed the plan",
}


def _plan_line(p: dict) -> str:
    kind = str(p.get("kind"))
    by = "the plan" if str(p.get("by", "")).startswith("plan:") else who(p.get("by"))
    words = PLAN_EVENT_WORDS.get(kind, text(kind, 30))
    if kind == "approved":
        words += f" as {text(p.get('role'), 32)}"
    elif kind in ("stage_started", "rolled_back"):
        words += f" *{text(p.get('stage'), 40)}*" if p.get("stage") else " nobody (the flag off)"
    reason = f": {text(p.get('reason'), 500)}" if p.get("reason") else ""
    return f"{by} {words}{reason}."


@renders("plan_event")
def plan_event(p: dict) -> str:
    return _plan_line(p)


@renders("plan_halted")
def plan_halted(p: dict) -> str:
    return f"Your rollout plan for {_flag(p)} in {text(p.get('environment'), 40)} halted: {_plan_line(p)}"


@renders("plan_completed")
def plan_completed(p: dict) -> str:
    key = text(p.get("key"), 70)
    return (
        f":white_check_mark: Your rollout plan for `{key}` completed: the flag is fully on in *{text(p.get('environment'), 40)}*. "
        f"Once it has stayed on for a while, remove it from the code and archive it with `/flag archive {key}` "
        "(your App Home marks it stale after 30 days fully on)."
    )
