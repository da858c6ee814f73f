"""Small text helpers shared by the builders."""

from __future__ import annotations

from bot.errors import Refused

SECTION_LIMIT = 3000


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def refusal_text(refusal: Refused) -> str:
    """A service's refusal as mrkdwn, the text it repeats from the person escaped."""
    if not refusal.typed:
        return str(refusal)
    return refusal.template.format(**{name: escape(str(value)) for name, value in refusal.typed.items()})


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mention(user_id: str) -> str:
    return f"<@{user_id}>"


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}]}


def private_reply(text: str, *extra_lines: str) -> dict:
    """An ephemeral answer to the person who acted: plain text plus the same in a section."""
    body = "\n".join((text, *extra_lines))
    return {"response_type": "ephemeral", "text": clip(body, 3000), "blocks": [section(body)]}


def refusal_reply(refusal: Refused) -> dict:
    return private_reply(refusal_text(refusal))
