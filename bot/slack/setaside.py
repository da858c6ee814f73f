"""Messages Slack will not take until someone fixes something: set aside, and the fixers told once.

Which Slack errors heal by themselves decides what the worker does. A rate limit, a 5xx or a lost
connection heals: the message is retried with back-off. A channel the bot is not in, a message
that is too long or a missing scope does not: the message is set aside (kept, listed by
`storage.outbox.set_aside`, counted in /metrics) so its lane goes on, and the people who can fix
it (the product's admins, else the global admins) get one direct message saying what to do, once
per (channel or lane, error), recorded in the database so replicas and restarts do not repeat it.
That direct message is marked as an alert: if it is set aside in turn, nobody is told of it (no
loops). Errors of the whole token are not handled here (see bot/slack/delivery.py).
"""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError

import storage.outbox as outbox
from bot.config import Config
from bot.runtime import Runtime
from bot.slack.blocks.text import escape
from bot.slack.scopes import METHOD_SCOPES
from storage import candidates
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

CHANNEL_ERRORS = {"not_in_channel", "channel_not_found", "is_archived"}
CONTENT_ERRORS = {"msg_blocks_too_long", "msg_too_long", "invalid_blocks", "invalid_blocks_format", "no_text", "invalid_arguments"}
USER_ERRORS = {"cannot_dm_bot", "user_not_found"}
# The errors that heal by themselves; any other refusal is set aside, so an error nobody foresaw
# (a deleted message, a restricted action) never holds a lane back forever.
HEALS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org"}
# The candidate's message was deleted, or its thread with it: the notice is posted afresh.
MESSAGE_GONE = {"message_not_found", "thread_not_found"}
# The token itself is refused: every lane would fail alike, so the worker pauses instead.
TOKEN_WIDE = {"invalid_auth", "token_revoked", "account_inactive", "not_allowed_token_type"}


def needed_scope(method: str, channel: str | None) -> str:
    """The scope a method needs for this conversation (public, private or DM), as Slack's table has it."""
    scopes = METHOD_SCOPES.get(method.replace("_", "."), ())
    if not scopes:
        return method
    kind = {"G": 1, "D": 2}.get((channel or "C")[:1], 0)
    return scopes[min(kind, len(scopes) - 1)]


def advice(error: str, target: str | None, scope: str | None = None) -> str:
    """What to do, in plain words, for the people who can fix it."""
    where = _where(target)
    if error == "not_in_channel":
        return f"I cannot post in {where}: invite @releasebot to it (`/invite @releasebot`). The messages I could not post are kept; `releasebot doctor` lists them."
    if error == "channel_not_found":
        return f"I cannot find the channel {where}: it was deleted, or it is private and I am not in it. Invite @releasebot to it, or set the right `channel` in the configuration."
    if error == "is_archived":
        return f"{where} is archived, so I cannot post there: unarchive it, or set another `channel` in the configuration."
    if error == "missing_scope":
        return f"The bot token lacks the `{escape(scope or 'needed')}` scope: add it in the app's OAuth settings and reinstall the app."
    if error in CONTENT_ERRORS:
        return f"Slack refused a message for {where} as too long or malformed (`{escape(error)}`), so it was set aside. Please report this releasebot bug with the output of `releasebot doctor`."
    if error in USER_ERRORS:
        return f"I cannot send direct messages to {where} (`{escape(error)}`): check the user ids in the configuration."
    return f"Slack refused a message for {where} with `{escape(error)}`, so it was set aside; `releasebot doctor` lists it."


def _where(target: str | None) -> str:
    if not target:
        return "a conversation"
    return f"<@{target}>" if target.startswith(("U", "W")) else f"<#{target}>"


def alert_scope(item: OutboxItem | None, error: str, target: str | None, scope: str | None = None) -> str:
    """What one alert covers: a channel, a person, a missing scope, or else the item's lane."""
    if error in CHANNEL_ERRORS and target:
        return f"channel:{target}"
    if error in USER_ERRORS and target:
        return f"user:{target}"
    if error == "missing_scope":
        return f"scope:{scope or 'unknown'}"
    return f"lane:{item.lane}" if item else f"target:{target}"


def fixers(config: Config, product_key: str | None, channel: str | None) -> list[str]:
    """The product's admins (the product found by key, else by its channel), else the global admins."""
    product = config.product(product_key) if product_key else None
    if product is None and channel:
        product = next((p for p in config.products if p.channel == channel), None)
    return list((product.admins if product else []) or config.admins)


def record(runtime: Runtime, item: OutboxItem, error: str, target: str | None, scope: str | None = None) -> None:
    """Set the item aside and, the first time for its (channel or lane, error), tell who can fix it."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        outbox.set_aside_item(session, item.id, now, error, target)
        told = _tell(session, runtime.config, item, error, target, scope, now)
    log.error("set aside %s #%s for %s: %s%s", item.kind, item.id, target, error, f"; told {', '.join(told)}" if told else "")
    if told:
        runtime.wake_delivery()


def warn(runtime: Runtime, item: OutboxItem, error: str, target: str | None, scope: str | None = None) -> None:
    """A problem that cost no message (a look-up the token may not make): tell once, set nothing aside."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        told = _tell(session, runtime.config, item, error, target, scope, now)
    if told:
        log.error("told %s: %s for %s", ", ".join(told), error, target)
        runtime.wake_delivery()


def _tell(session, config: Config, item: OutboxItem, error: str, target: str | None, scope: str | None, now) -> list[str]:
    if item.payload.get("alert"):
        return []  # an alert that could not be sent is not announced again
    if not outbox.first_alert(session, alert_scope(item, error, target, scope), error, now):
        return []
    candidate = candidates.get(session, item.candidate_id) if item.candidate_id else None
    people = fixers(config, candidate.product if candidate else None, target)
    text = advice(error, target, scope)
    for user in people:
        outbox.enqueue(session, f"dm:{user}", "dm", {"user": user, "text": text, "alert": True}, now)
    return people


async def call(slack, method: str, **arguments) -> dict:
    """One Web API call, its failure sorted: Retry (heals), Hopeless (set aside), TokenRefused (pause)."""
    try:
        return await getattr(slack, method)(**arguments)
    except SlackApiError as exc:
        error = str(exc.response.get("error", exc.response.status_code))
        if error in TOKEN_WIDE:
            raise TokenRefused(error) from None
        if exc.response.status_code < 500 and exc.response.status_code != 429 and error not in HEALS:
            raise Hopeless(error, method=method, needed=exc.response.get("needed")) from None
        retry_after = exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after"))
        after = int(retry_after) if str(retry_after).isdigit() else None
        raise Retry(error, after=after, maybe_sent=exc.response.status_code >= 500) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Retry(type(exc).__name__, maybe_sent=True) from None


class Retry(Exception):
    """Slack did not take the message now; try again later (after `after` seconds when Slack said)."""

    def __init__(self, message: str, after: int | None = None, maybe_sent: bool = False):
        super().__init__(message)
        self.after = after
        self.maybe_sent = maybe_sent  # no answer, or a 5xx: Slack may have taken it anyway


class Hopeless(Exception):
    """Slack will never take the message as it is (set aside); `target` when not the item's own."""

    def __init__(self, error: str, method: str = "", target: str | None = None, needed: str | None = None):
        super().__init__(error)
        self.method = method
        self.target = target
        self.needed = needed  # Slack's own word on the scope a missing_scope lacks


class TokenRefused(Exception):
    """Slack refuses the bot token itself: every lane fails alike."""
