"""Reading slash-command text as Slack sends it."""

from __future__ import annotations

import re

from storage.limits import SLACK_ID

MENTION = re.compile(rf"^<@([UW][A-Z0-9]{{1,{SLACK_ID - 1}}})(?:\|[^>]*)?>$")  # an id that fits its columns
MAX_TEXT = 4000


def split_subcommand(text: str) -> tuple[str, str]:
    """('cut', 'urgent db is down') from 'cut urgent db is down'; the subcommand lower-cased."""
    head, _, rest = text.strip().partition(" ")
    return head.lower(), rest.strip()


def mentioned_user(word: str) -> str | None:
    """The user id of an escaped mention such as <@U0DANA|dana>."""
    match = MENTION.match(word.strip())
    return match[1] if match else None
