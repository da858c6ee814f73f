"""The App Home tab: the person's sections (bot.people.home) in Block Kit, within Slack's limits.

A Home view takes at most 100 blocks and 3,000 characters per section. bot.people.home keeps a fixed
number of items per section and counts the rest; here each item costs at most two blocks and every
text is clipped to its own budget, so the sum stays under 100 whatever the person has on it. The
buttons reuse the candidate message's, the flag request's and the rollout plan's action ids with the item appended
(`rc_verify:12`), as a view takes each action id once; the same listeners handle both.
"""

from __future__ import annotations

from bot.people.home import Home, ManagedCandidate, OwnedFlag, PendingVerification, PlanDecision, Section
from bot.slack import ids
from bot.slack.blocks.candidate import STATE_LINES
from bot.slack.blocks.text import SECTION_LIMIT, clip, context, escaped, fit, mention, section
from bot.release.model import CandidateState

NAME = 80  # characters of a product name or version in a line
MENTIONS = 10  # people named in one line before "and N more"
FLAG_LINE = 280
PRODUCTS_NAMED = 20


def home_view(home: Home, products: tuple[str, ...] = ()) -> dict:
    blocks: list[dict] = [_header("Your releases"), section(_away_line(home)), {"type": "divider"}]
    blocks += _pending(home.pending)
    blocks += _managed(home.managed)
    blocks += _approvals(home)
    blocks += _plans(home.plans)
    blocks += _flags(home)
    blocks += _window(home)
    blocks.append(context(_footer(products)))
    return {"type": "home", "blocks": blocks}


def _header(text: str) -> dict:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text, 150)}}


def _titled(title: str, count: int) -> dict:
    return _header(f"{title} ({count})" if count else title)


def _more(section_: Section, what: str) -> list[dict]:
    return [context(f"…and {section_.hidden} more {what}")] if section_.hidden else []


def _names(users, limit: int = MENTIONS) -> str:
    named = [mention(u) if u else "authors without a Slack account" for u in users]
    rest = len(named) - limit
    return ", ".join(named[:limit]) + (f" and {rest} more" if rest > 0 else "")


def _away_line(home: Home) -> str:
    if home.away is None:
        return "You are not away. `/rc away <until> [@delegate]` hands your verifications to a teammate while you are."
    delegate = f"; {mention(home.away.delegate)} verifies your changes" if home.away.delegate else "; the release managers verify your changes"
    return f":palm_tree: You are away until {escaped(home.away.until, 100)}{delegate}. `/rc away end` when you are back."


def _pending(pending: Section[PendingVerification]) -> list[dict]:
    blocks = [_titled("To verify", pending.total)]
    if not pending.items:
        return blocks + [section("Nothing waits for your verification.")]
    for item in pending.items:
        blocks += [section(_pending_line(item)), _verify_actions(item)]
    return blocks + _more(pending, "candidates to verify; their release channels have the rest")


def _pending_line(item: PendingVerification) -> str:
    parts = []
    if item.own_changes:
        parts.append(f"{item.own_changes} change{'s' if item.own_changes != 1 else ''} of yours")
    if item.for_others:
        parts.append(f"the changes of {_names(item.for_others)}, verified by you for them")
    line = f"*{escaped(item.product, NAME)} {escaped(item.version, NAME)}*"
    line += f" in <#{item.channel}>" if item.channel else ""
    line += f": {' and '.join(parts)}"
    if item.delegated_to:
        line += f" (you asked {mention(item.delegated_to)} to verify yours; you still may)"
    return fit(line, SECTION_LIMIT)


def _verify_actions(item: PendingVerification) -> dict:
    elements: list[dict] = [
        {
            "type": "button",
            "action_id": ids.for_item(ids.VERIFY, item.candidate_id),
            "text": {"type": "plain_text", "text": "Verified"},
            "style": "primary",
            "value": str(item.candidate_id),
        }
    ]
    if item.own_changes:
        elements.append(
            {
                "type": "users_select",
                "action_id": ids.for_item(ids.DELEGATE, item.candidate_id),
                "placeholder": {"type": "plain_text", "text": "Delegate my verification to…"},
            }
        )
    return {"type": "actions", "block_id": f"{ids.HOME_CANDIDATE_BLOCK}:{item.candidate_id}", "elements": elements}


def _managed(managed: Section[ManagedCandidate]) -> list[dict]:
    blocks = [{"type": "divider"}, _titled("You are release manager of", managed.total)]
    if not managed.items:
        return blocks + [section("No candidate in progress has you as its release manager.")]
    blocks += [section(_managed_line(item)) for item in managed.items]
    return blocks + _more(managed, "candidates")


def _managed_line(item: ManagedCandidate) -> str:
    state = STATE_LINES.get(CandidateState(item.state), item.state)
    window = ":large_green_circle: the release window is open" if item.window_open else f":red_circle: {escaped(item.window, 1200)}"
    channel = f" in <#{item.channel}>" if item.channel else ""
    return fit(
        f"*{escaped(item.product, NAME)} {escaped(item.version, NAME)}*{channel}: {state}, "
        f"{item.verified} of {item.engineers} engineers verified\n{window}",
        SECTION_LIMIT,
    )


def _approvals(home: Home) -> list[dict]:
    approvals = home.approvals
    blocks = [{"type": "divider"}, _titled("Flag changes waiting for your approval", approvals.total)]
    if not approvals.items:
        return blocks + [section("No flag change waits for your approval.")]
    for item in approvals.items:
        line = (
            f"{mention(item.requested_by)} asks to *{escaped(item.change, 400)}* `{escaped(item.flag, 70)}` in *{escaped(item.environment, 40)}*"
            f" (asked {item.requested_at:%Y-%m-%d %H:%M} UTC)"
        )
        buttons = [
            {"type": "button", "action_id": ids.for_item(ids.FLAG_APPROVE, item.request_id), "style": "primary",
             "value": str(item.request_id), "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": ids.for_item(ids.FLAG_REJECT, item.request_id), "style": "danger",
             "value": str(item.request_id), "text": {"type": "plain_text", "text": "Reject"}},
        ]
        blocks += [section(line), {"type": "actions", "block_id": f"{ids.HOME_FLAG_BLOCK}:{item.request_id}", "elements": buttons}]
    return blocks + _more(approvals, "requests; `/flag` shows them")


def _plans(plans: Section[PlanDecision]) -> list[dict]:
    blocks = [{"type": "divider"}, _titled("Rollout plans waiting for you", plans.total)]
    if not plans.items:
        return blocks + [section("No rollout plan waits for your approval or your Go.")]
    for item in plans.items:
        blocks += [section(_plan_line(item)), {"type": "actions", "block_id": f"{ids.HOME_PLAN_BLOCK}:{item.plan_id}", "elements": _plan_buttons(item)}]
    return blocks + _more(plans, "plans; `/flag plan status` shows one")


def _plan_line(item: PlanDecision) -> str:
    where = f"Rollout plan #{item.plan_id} for `{escaped(item.flag, 70)}` in *{escaped(item.environment, 40)}* (owner {mention(item.owner)})"
    waits = "waits for your approval" if item.roles else "waits for Go"
    return fit(f"{where} {waits}.", SECTION_LIMIT)


def _plan_buttons(item: PlanDecision) -> list[dict]:
    def button(action_id: str, label: str) -> dict:
        return {"type": "button", "action_id": action_id, "style": "primary", "value": str(item.plan_id),
                "text": {"type": "plain_text", "text": clip(label, 75)}}

    if item.roles:
        return [button(f"{ids.PLAN_APPROVE}:{role}:{item.plan_id}", f"Approve as {role}") for role in item.roles]
    return [button(ids.for_item(ids.PLAN_GO, item.plan_id), "Go")]


def _flags(home: Home) -> list[dict]:
    flags = home.flags
    blocks = [{"type": "divider"}, _titled("Flags you own", flags.total)]
    if not flags.items:
        return blocks + [section("You own no flags.")]
    lines = [_flag_line(flag, flag.key in home.stale) for flag in flags.items]
    blocks += [section(text) for text in _chunks(lines)]
    notes = []
    if home.stale_total:
        notes.append(f":zzz: {home.stale_total} look stale: fully on or fully off everywhere for 30 days; remove them from the code and `/flag archive` them.")
    if flags.hidden:
        notes.append(f"…and {flags.hidden} more flags; `/flag list` shows them all.")
    return blocks + ([context(" ".join(notes))] if notes else [])


def _flag_line(flag: OwnedFlag, stale: bool) -> str:
    states = " · ".join(f"{escaped(env, 40)}: {escaped(state, 60)}" for env, state in flag.states) or "no environments"
    mark = f" :zzz: _stale, {flag.everywhere} everywhere_" if stale else ""
    return fit(f"• `{escaped(flag.key, 70)}` {states}{mark}", FLAG_LINE)


def _chunks(lines: list[str], limit: int = SECTION_LIMIT) -> list[str]:
    """Whole lines into as few sections as their characters need."""
    chunks: list[list[str]] = [[]]
    used = 0
    for line in lines:
        if chunks[-1] and used + 1 + len(line) > limit:
            chunks.append([])
            used = 0
        chunks[-1].append(line)
        used += len(line) + 1
    return ["\n".join(chunk) for chunk in chunks]


def _window(home: Home) -> list[dict]:
    if home.window_open:
        line = ":large_green_circle: The release window is open now."
    else:
        line = f":red_circle: The release window is closed; it next opens {escaped(home.next_window, 200)}."
    blocks = [{"type": "divider"}, _header("Release window and freezes"), section(line)]
    if home.freezes.items:
        frozen = [
            f"• :ice_cube: *{escaped(f.scope, NAME)}* frozen until {escaped(f.until, 100)}: {escaped(f.reason, 200)}"
            for f in home.freezes.items
        ]
        if home.freezes.hidden:
            frozen.append(f"…and {home.freezes.hidden} more freezes")
        blocks.append(section("\n".join(frozen)))
    else:
        blocks.append(section("No freeze is in force."))
    return blocks


def _footer(products: tuple[str, ...]) -> str:
    if not products:
        return "No products are configured yet. `/rc help` lists what you can do."
    named = ", ".join(escaped(name, NAME) for name in products[:PRODUCTS_NAMED])
    rest = len(products) - PRODUCTS_NAMED
    return f"releasebot looks after {named}{f' and {rest} more' if rest > 0 else ''}. `/rc help` lists what you can do."
