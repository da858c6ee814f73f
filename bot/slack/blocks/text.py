"""Small text helpers shared by the builders.

Clipping happens before escaping: `escaped` cuts the raw text so that its escaped form fits, so an
escape (`&amp;`, `&lt;`, `&gt;`) is never cut in half. `fit` is the last resort for mrkdwn already
built (a section's text): it never cuts inside an escape or a `<...>` mention or link.
"""

from __future__ import annotations

from bot.errors import Refused

SECTION_LIMIT = 3000
ELLIPSIS = "…"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def refusal_text(refusal: Refused) -> str:
    """A service's refusal as mrkdwn, the text it repeats from the person escaped."""
    if not refusal.typed:
        return str(refusal)
    return refusal.template.format(**{name: escape(str(value)) for name, value in refusal.typed.items()})


def clip(text: str, limit: int) -> str:
    """Plain text (never escaped, e.g. plain_text objects) in at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def escaped(text: str, limit: int) -> str:
    """`text` escaped for mrkdwn in at most `limit` characters, ending with … when it was cut."""
    whole = escape(text)
    if len(whole) <= limit:
        return whole
    kept, used = [], 0
    for char in text:
        piece = _ESCAPES.get(char, char)
        if used + len(piece) > limit - len(ELLIPSIS):
            break
        kept.append(piece)
        used += len(piece)
    return "".join(kept) + ELLIPSIS


def fit(mrkdwn: str, limit: int) -> str:
    """Built mrkdwn in at most `limit` characters, cut before any escape or `<...>` it would split."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    cut = mrkdwn[: limit - len(ELLIPSIS)]
    while True:
        amp, lt = cut.rfind("&"), cut.rfind("<")
        if amp > cut.rfind(";"):
            cut = cut[:amp]
        elif lt > cut.rfind(">"):
            cut = cut[:lt]
        else:
            return cut + ELLIPSIS


def lines_within(head: str, lines: list[str], limit: int, hidden: int = 0) -> str:
    """`head`, then as many whole `lines` as fit in `limit` characters, then "…and N more changes"
    for those left out (and `hidden` ones the caller did not pass)."""
    tail_room = 40
    kept = [fit(head, limit - tail_room)]
    used = len(kept[0])
    for line in lines:
        if used + 1 + len(line) > limit - tail_room:
            break
        kept.append(line)
        used += 1 + len(line)
    rest = len(lines) - (len(kept) - 1) + hidden
    if rest:
        kept.append(f"…and {rest} more change{'s' if rest > 1 else ''}")
    return "\n".join(kept)


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(text, SECTION_LIMIT)}}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(text, SECTION_LIMIT)}]}


def private_reply(text: str, *extra_lines: str) -> dict:
    """An ephemeral answer to the person who acted: plain text plus the same in a section."""
    body = "\n".join((text, *extra_lines))
    return {"response_type": "ephemeral", "text": fit(body, 3000), "blocks": [section(body)]}


def refusal_reply(refusal: Refused) -> dict:
    return private_reply(refusal_text(refusal))
