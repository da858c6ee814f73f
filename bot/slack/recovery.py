"""Finding a post Slack may have taken without our knowing (a crash, a timeout), by the metadata
tag every post carries, before the message is sent again."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import storage.outbox as outbox
from bot.release import service
from bot.runtime import Runtime
from bot.slack import setaside
from bot.slack.setaside import Hopeless, Retry, call
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

TAG_EVENT = "releasebot_outbox"
LOOK_PAGES = 10  # pages of 200 messages looked through for a post a crash may have left unrecorded


def tag(item: OutboxItem) -> dict:
    """Message metadata that names the outbox item, so a post can be found again after a crash."""
    return {"event_type": TAG_EVENT, "event_payload": {"outbox_id": item.id}}


async def look_for(
    runtime: Runtime, slack, item: OutboxItem, channel: str, thread_ts: str | None, since: dt.datetime, ids: set[int]
) -> str | None:
    """The ts of a message tagged with one of `ids`, following cursors for at most LOOK_PAGES
    pages; None when not found, or when the look-up is impossible (then the message is sent
    again rather than held back, and the people who can grant the look-up are told)."""
    method = "conversations_replies" if thread_ts else "conversations_history"
    where = {"ts": thread_ts} if thread_ts else {"oldest": f"{since.timestamp() - 60:.6f}"}
    cursor = None
    for _ in range(LOOK_PAGES):
        try:
            page = await call(slack, method, channel=channel, include_all_metadata=True, limit=200, cursor=cursor, **where)
        except Hopeless as exc:
            log.warning("cannot look for %s #%s before re-sending it: %s", item.kind, item.id, exc)
            if str(exc) == "missing_scope":
                await asyncio.to_thread(setaside.warn, runtime, item, "missing_scope", channel, setaside.needed_scope(method, channel))
            return None
        except Retry as exc:
            raise Retry(str(exc), after=exc.after, maybe_sent=True) from None  # not looked yet: the mark stays
        for message in page.get("messages", []):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == TAG_EVENT and (meta.get("event_payload") or {}).get("outbox_id") in ids:
                return message["ts"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    log.warning("%s #%s not found in %s pages of %s; sent again", item.kind, item.id, LOOK_PAGES, channel)
    return None


async def where_posted(runtime: Runtime, slack, item: OutboxItem) -> tuple[str, str | None] | None:
    """(channel, thread) where the item's post would be; None when it is not a new post."""
    if item.kind == "notice":
        known = await asyncio.to_thread(_location, runtime, service.notice_lane(item.candidate_id))
        return None if known else (item.payload["channel"], None)
    if item.kind == "channel":
        return item.payload["channel"], None
    if item.kind == "thread":
        return await asyncio.to_thread(_location, runtime, service.notice_lane(item.candidate_id))
    if item.kind == "dm":
        opened = await call(slack, "conversations_open", users=item.payload["user"])
        return opened["channel"]["id"], None
    return None


def _location(runtime: Runtime, key: str) -> tuple[str, str] | None:
    with runtime.db.reading() as session:
        return outbox.message_location(session, key)
