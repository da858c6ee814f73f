"""The delivery worker: sends the Slack messages the outbox says are owed.

Each process runs one worker; a lane (a candidate's message and thread, or one person's DMs)
is leased to one worker at a time and delivered in order, stopping at the first message Slack
does not take, which is retried later with back-off. A notice is rendered from the candidate's
state at delivery time, so an update can never bring back an older state; thread, DM and channel
items carry an event's facts, rendered and escaped here by bot.slack.blocks.events.

A crash between Slack taking a post and the post being recorded is recovered by looking: the send
is marked as begun before the call, every post carries metadata naming its outbox item, and the
next sender of a message marked as begun first looks for it in the channel or thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

import aiohttp
from slack_sdk.errors import SlackApiError

import storage.outbox as outbox
from bot.config import Config
from bot.release import service
from bot.runtime import Runtime
from bot.slack.blocks.candidate import candidate_message
from bot.slack.blocks.events import render as render_event
from bot.slack.blocks.flags import approval_message
from bot.slack.client import make_delivery_client
from bot.slack.home import render_home
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=30)  # renewed before every send; a killed process's lanes wait this long
LANES_PER_ROUND = 16
ITEMS_PER_LANE = 50
IDLE_WAIT = 1.0
KEEP_DELIVERED = dt.timedelta(days=7)
TAG_EVENT = "releasebot_outbox"
# Without these a lost post cannot be looked for; it is sent again rather than held back forever.
CANNOT_LOOK = {"missing_scope", "not_allowed_token_type", "channel_not_found", "not_in_channel"}
# Slack will never take these as they are: record the failure and move on instead of blocking the lane.
HOPELESS = {"invalid_blocks", "msg_too_long", "msg_blocks_too_long", "no_text", "invalid_arguments", "cant_update_message", "cannot_dm_bot", "user_not_found", "invalid_blocks_format"}


class Delivery:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.slack = make_delivery_client(runtime.env.slack_bot_token, runtime.env.slack_api_url)
        self.token = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        """Deliver until stopped; woken at once when a service owes a message, else polls each second."""
        self._loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                delivered = await self.deliver_due()
            except Exception:
                log.exception("delivery round failed")
                delivered = 0
            if delivered == 0 and not self._stopping:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), IDLE_WAIT)
                except TimeoutError:
                    pass

    def stop(self) -> None:
        self._stopping = True
        self.wake()

    async def drain(self, timeout: float) -> int:
        """Deliver what is due now, for commands that exit afterwards; the rest stays owed."""
        total, deadline = 0, asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            delivered = await self.deliver_due()
            if delivered == 0:
                break
            total += delivered
        return total

    async def deliver_due(self) -> int:
        now = self.runtime.clock.now()
        lanes = await asyncio.to_thread(self._claim_lanes, now)
        results = await asyncio.gather(*(self._deliver_lane(lane) for lane in lanes))
        return sum(results)

    def _claim_lanes(self, now: dt.datetime) -> list[str]:
        with self.runtime.db.transaction() as session:
            lanes = outbox.due_lanes(session, now, LANES_PER_ROUND)
            return [lane for lane in lanes if outbox.claim_lane(session, lane, self.token, now, now + LEASE)]

    async def _deliver_lane(self, lane: str) -> int:
        delivered = 0
        try:
            items = await asyncio.to_thread(self._pending, lane)
            for index, item in enumerate(items[:ITEMS_PER_LANE]):
                now = self.runtime.clock.now()
                if item.next_attempt_at > now or not await asyncio.to_thread(self._prepare_send, item, now):
                    break
                try:
                    await self._send(item, items[index + 1:])
                except _Retry as retry:
                    await asyncio.to_thread(self._postpone, item, now, retry)
                    break
                delivered += 1
        finally:
            await asyncio.to_thread(self._release, lane)
        return delivered

    def _pending(self, lane: str) -> list[OutboxItem]:
        with self.runtime.db.reading() as session:
            return outbox.pending_in_lane(session, lane)

    def _prepare_send(self, item: OutboxItem, now: dt.datetime) -> bool:
        """A fresh lease for each send (a send takes at most the client's timeout, well inside it),
        and the mark that a send began; False when the lease ran out and another process took the lane."""
        with self.runtime.db.transaction() as session:
            if not outbox.extend_lane(session, item.lane, self.token, now + LEASE):
                return False
            outbox.mark_sending(session, item.id, now)
            return True

    def _release(self, lane: str) -> None:
        with self.runtime.db.transaction() as session:
            outbox.release_lane(session, lane, self.token)

    def _postpone(self, item: OutboxItem, now: dt.datetime, retry: _Retry) -> None:
        delay = dt.timedelta(seconds=retry.after or min(600, 2 ** min(item.attempts, 9)))
        log.warning("delivery of %s #%s postponed %ss: %s", item.kind, item.id, delay.seconds, retry)
        with self.runtime.db.transaction() as session:
            outbox.postpone(session, item.id, now + delay, str(retry), maybe_sent=retry.maybe_sent)

    def _done(self, item: OutboxItem, note: str | None = None, posted: tuple[str, str, str] | None = None) -> None:
        now = self.runtime.clock.now()
        with self.runtime.db.transaction() as session:
            if posted:
                outbox.remember_message(session, *posted)
            outbox.mark_delivered(session, [item.id], now, note)

    async def _send(self, item: OutboxItem, later: list[OutboxItem]) -> None:
        try:
            if item.sending_since is not None and await self._found_posted(item):
                return
            if item.kind == "notice":
                await self._send_notice(item, later)
            elif item.kind == "thread":
                await self._send_thread(item)
            elif item.kind == "home":  # rendered from the current state, so only the last one owed is published
                if any(other.kind == "home" for other in later):
                    await asyncio.to_thread(self._done, item, "coalesced into a later update")
                    return
                view = await asyncio.to_thread(render_home, self.runtime, item.payload["user"])
                await self._call("views_publish", user_id=item.payload["user"], view=view)
                await asyncio.to_thread(self._done, item)
            elif item.kind in ("dm", "channel"):
                text = render_event(item.payload)
                if text is None:
                    await asyncio.to_thread(self._done, item, f"unknown event {item.payload.get('event')}")
                    return
                target = item.payload["user"] if item.kind == "dm" else item.payload["channel"]
                request_id = item.payload.get("request_id")
                blocks = approval_message(text, request_id) if request_id else None
                await self._call("chat_postMessage", channel=target, text=text, blocks=blocks, metadata=_tag(item))
                await asyncio.to_thread(self._done, item)
            else:
                await asyncio.to_thread(self._done, item, f"unknown kind {item.kind}")
        except _Hopeless as exc:
            log.error("gave up on %s #%s: %s", item.kind, item.id, exc)
            await asyncio.to_thread(self._done, item, f"gave up: {exc}")

    async def _send_notice(self, item: OutboxItem, later: list[OutboxItem]) -> None:
        key = service.notice_lane(item.candidate_id)
        location = await asyncio.to_thread(self._location, key)
        if location and any(other.kind == "notice" for other in later):
            await asyncio.to_thread(self._done, item, "coalesced into a later update")
            return
        message = await asyncio.to_thread(render_notice, self.runtime, item.candidate_id)
        if location is None:
            channel = item.payload["channel"]
            response = await self._call("chat_postMessage", channel=channel, metadata=_tag(item), **message)
            await asyncio.to_thread(self._done, item, None, (key, response["channel"], response["ts"]))
        else:
            await self._call("chat_update", channel=location[0], ts=location[1], **message)
            await asyncio.to_thread(self._done, item)

    async def _send_thread(self, item: OutboxItem) -> None:
        text = render_event(item.payload)
        if text is None:
            await asyncio.to_thread(self._done, item, f"unknown event {item.payload.get('event')}")
            return
        location = await asyncio.to_thread(self._location, service.notice_lane(item.candidate_id))
        if location is None:
            raise _Retry("the candidate's message is not posted yet")
        await self._call(
            "chat_postMessage",
            channel=location[0],
            thread_ts=location[1],
            text=text,
            reply_broadcast=bool(item.payload.get("broadcast")),
            metadata=_tag(item),
        )
        await asyncio.to_thread(self._done, item)

    async def _found_posted(self, item: OutboxItem) -> bool:
        """A send of this message began and its process died: Slack may have taken it. Look for
        the message by its tag before posting again, so a crash doubles nothing."""
        place = await self._where_posted(item)
        if place is None:
            return False
        channel, thread_ts = place
        try:
            if thread_ts:
                found = await self._call("conversations_replies", channel=channel, ts=thread_ts, include_all_metadata=True, limit=200)
            else:
                oldest = f"{item.created_at.timestamp() - 60:.6f}"
                found = await self._call("conversations_history", channel=channel, oldest=oldest, include_all_metadata=True, limit=200)
        except (_Hopeless, _Retry) as exc:
            if isinstance(exc, _Retry) and str(exc) not in CANNOT_LOOK:
                raise
            log.warning("cannot look for %s #%s before re-sending it: %s", item.kind, item.id, exc)
            return False
        for message in found["messages"]:
            if message.get("metadata") == _tag(item):
                if item.kind == "notice":  # recorded now; the send goes on as an update to the current state
                    await asyncio.to_thread(self._remember, service.notice_lane(item.candidate_id), channel, message["ts"])
                    return False
                await asyncio.to_thread(self._done, item, "already posted before an interrupted send")
                return True
        return False

    def _remember(self, key: str, channel: str, ts: str) -> None:
        with self.runtime.db.transaction() as session:
            outbox.remember_message(session, key, channel, ts)

    async def _where_posted(self, item: OutboxItem) -> tuple[str, str | None] | None:
        """(channel, thread) where the item's post would be; None when it is not a new post."""
        if item.kind == "notice":
            known = await asyncio.to_thread(self._location, service.notice_lane(item.candidate_id))
            return None if known else (item.payload["channel"], None)
        if item.kind == "channel":
            return item.payload["channel"], None
        if item.kind == "thread":
            return await asyncio.to_thread(self._location, service.notice_lane(item.candidate_id))
        if item.kind == "dm":
            opened = await self._call("conversations_open", users=item.payload["user"])
            return opened["channel"]["id"], None
        return None

    def _location(self, key: str) -> tuple[str, str] | None:
        with self.runtime.db.reading() as session:
            return outbox.message_location(session, key)

    async def _call(self, method: str, **arguments) -> dict:
        try:
            return await getattr(self.slack, method)(**arguments)
        except SlackApiError as exc:
            error = str(exc.response.get("error", exc.response.status_code))
            if error in HOPELESS:
                raise _Hopeless(error) from None
            retry_after = exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after"))
            after = int(retry_after) if str(retry_after).isdigit() else None
            raise _Retry(error, after=after, maybe_sent=exc.response.status_code >= 500) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Retry(type(exc).__name__, maybe_sent=True) from None


def _tag(item: OutboxItem) -> dict:
    """Message metadata that names the outbox item, so a post can be found again after a crash."""
    return {"event_type": TAG_EVENT, "event_payload": {"outbox_id": item.id}}


def prune_delivered(runtime: Runtime) -> int:
    """Delivered messages are kept a week for inspection, then dropped."""
    with runtime.db.transaction() as session:
        return outbox.forget_delivered_before(session, runtime.clock.now() - KEEP_DELIVERED)


def delivery_backlog(runtime: Runtime) -> tuple[int, dt.datetime | None]:
    with runtime.db.reading() as session:
        return outbox.backlog(session)


def render_notice(runtime: Runtime, candidate_id: int) -> dict:
    candidate = service.get(runtime.db, candidate_id)
    successor = service.get(runtime.db, candidate.superseded_by) if candidate.superseded_by else None
    return candidate_message(candidate, product_name(runtime.config, candidate.product), successor.version if successor else None)


def product_name(config: Config, key: str) -> str:
    product = config.product(key)
    return product.name if product else key


class _Retry(Exception):
    """Slack did not take the message now; try again later (after `after` seconds when Slack said)."""

    def __init__(self, message: str, after: int | None = None, maybe_sent: bool = False):
        super().__init__(message)
        self.after = after
        self.maybe_sent = maybe_sent  # no answer, or a 5xx: Slack may have taken it anyway


class _Hopeless(Exception):
    """Slack will never take the message as it is."""
