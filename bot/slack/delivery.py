"""The delivery worker: sends the Slack messages the outbox says are owed.

Each process runs one worker; a lane (a candidate's message and thread, or one person's DMs)
is leased to one worker at a time and delivered in order, stopping at the first message Slack
does not take, which is retried later with back-off. A notice is rendered from the candidate's
state at delivery time, so an update can never bring back an older state; thread, DM and channel
items carry an event's facts, rendered and escaped here by bot.slack.blocks.events.

A crash between Slack taking a post and the post being recorded is recovered by looking: the send
is marked as begun before the call, every post carries metadata naming its outbox item, and the
next sender of a message marked as begun first looks for it in the channel or thread, following
Slack's cursors through long threads and busy channels (bot/slack/recovery.py).

A message Slack will never take as it is (a channel the bot is not in, a message too long, a
missing scope) is set aside and its fixers are told once (bot/slack/setaside.py); its lane goes on.
A thread event whose candidate message was set aside is set aside with it, since it has no parent.
A later notice of that candidate posts the message afresh, once its channel takes posts again; it
cannot post a second one: a set-aside post is certain not to have been taken by the call that was
refused, and if an earlier attempt of it may have been taken (a timeout, a 5xx) the later notice
first looks for that post's tag in the channel and, found, updates it instead.

Errors of the token itself (invalid_auth, token_revoked, account_inactive, not_allowed_token_type)
would fail every lane alike and heal all at once when someone installs a good token, so they set
nothing aside: the worker pauses all delivery (PAUSE, doubling up to MAX_PAUSE, on the injected
clock), logs it at CRITICAL level each time and shows it in /metrics (`releasebot_delivery_paused`).
No direct message can tell anyone, the token being refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid

import storage.outbox as outbox
from bot import metrics
from bot.config import Config
from bot.release import service
from bot.runtime import Runtime
from bot.slack import plan_delivery, setaside
from bot.slack.blocks.candidate import candidate_message, verify_prompt
from bot.slack.blocks.digest import message_blocks
from bot.slack.blocks.events import render as render_event
from bot.slack.blocks.flags import approval_message
from bot.slack.client import make_delivery_client
from bot.slack.home import render_home
from bot.slack.recovery import look_for, tag, where_posted
from bot.slack.setaside import Hopeless, Retry, TokenRefused, call
from storage.outbox import OutboxItem

log = logging.getLogger(__name__)

LEASE = dt.timedelta(seconds=30)  # renewed before every send; a killed process's lanes wait this long
LANES_PER_ROUND = 16
ITEMS_PER_LANE = 50
IDLE_WAIT = 1.0
KEEP_DELIVERED = dt.timedelta(days=7)
KEEP_SET_ASIDE = dt.timedelta(days=30)
PAUSE = dt.timedelta(minutes=5)
MAX_PAUSE = dt.timedelta(hours=1)


class Delivery:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.slack = make_delivery_client(runtime.env.slack_bot_token, runtime.env.slack_api_url)
        self.token = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._paused_until: dt.datetime | None = None
        self._pause = PAUSE

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
        if self._paused_until is not None and now < self._paused_until:
            return 0
        lanes = await asyncio.to_thread(self._claim_lanes, now)
        results = await asyncio.gather(*(self._deliver_lane(lane) for lane in lanes))
        delivered = sum(results)
        if delivered and self._paused_until is not None:
            log.warning("Slack takes the bot token again: delivery resumed")
            self._paused_until, self._pause = None, PAUSE
            metrics.delivery_paused.clear()
        return delivered

    def _pause_all(self, now: dt.datetime, error: str) -> None:
        """The token is refused: no lane can deliver until someone installs a good token."""
        if self._paused_until is not None and now < self._paused_until:
            return  # another lane of this round found the same
        if self._paused_until is not None:
            self._pause = min(MAX_PAUSE, self._pause * 2)
        self._paused_until = now + self._pause
        metrics.delivery_paused.labels(error).set(1)
        log.critical(
            "Slack refuses the bot token (%s): ALL delivery paused until %s. Install the app again or set a valid "
            "SLACK_BOT_TOKEN; messages stay owed meanwhile.", error, self._paused_until.isoformat(),
        )

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
                except Retry as retry:
                    await asyncio.to_thread(self._postpone, item, now, retry)
                    break
                except TokenRefused as refused:
                    self._pause_all(now, str(refused))
                    # nothing was taken by this call; an earlier attempt's mark stays
                    retry = Retry(str(refused), after=int(self._pause.total_seconds()), maybe_sent=item.sending_since is not None)
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

    def _postpone(self, item: OutboxItem, now: dt.datetime, retry: Retry) -> None:
        delay = dt.timedelta(seconds=retry.after or min(600, 2 ** min(item.attempts, 9)))
        log.warning("delivery of %s #%s postponed %ss: %s", item.kind, item.id, int(delay.total_seconds()), retry)
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
            elif item.kind in ("plan", "plan_thread"):
                await plan_delivery.send(self, item, later)
            elif item.kind == "home":
                await self._send_home(item, later)
            elif item.kind in ("dm", "channel"):
                await self._send_message(item)
            else:
                await asyncio.to_thread(self._done, item, f"unknown kind {item.kind}")
        except Hopeless as exc:
            target = exc.target or await self._target(item)
            scope = (exc.needed or setaside.needed_scope(exc.method, target)) if str(exc) == "missing_scope" else None
            await asyncio.to_thread(setaside.record, self.runtime, item, str(exc), target, scope)

    async def _send_home(self, item: OutboxItem, later: list[OutboxItem]) -> None:
        """Rendered from the current state, so only the last Home owed is published."""
        if any(other.kind == "home" for other in later):
            await asyncio.to_thread(self._done, item, "coalesced into a later update")
            return
        view = await asyncio.to_thread(render_home, self.runtime, item.payload["user"])
        await call(self.slack, "views_publish", user_id=item.payload["user"], view=view)
        await asyncio.to_thread(self._done, item)

    async def _send_message(self, item: OutboxItem) -> None:
        """A DM or a channel message: an event rendered and escaped now, with the blocks it calls for."""
        text = render_event(item.payload)
        if text is None:
            await asyncio.to_thread(self._done, item, f"unknown event {item.payload.get('event')}")
            return
        target = item.payload["user"] if item.kind == "dm" else item.payload["channel"]
        request_id, verify = item.payload.get("request_id"), item.payload.get("verify_candidate")
        if request_id:
            blocks = approval_message(text, request_id)
        elif verify:
            blocks = verify_prompt(text, verify)
        else:
            blocks = message_blocks(item.payload)
        await call(self.slack, "chat_postMessage", channel=target, text=text, blocks=blocks, metadata=tag(item))
        await asyncio.to_thread(self._done, item)

    async def _target(self, item: OutboxItem) -> str | None:
        """The channel or person a message is for (a thread's: its candidate message's channel)."""
        if item.kind == "dm":
            return item.payload["user"]
        if item.kind == "thread":
            location = await asyncio.to_thread(self._location, service.notice_lane(item.candidate_id))
            return location[0] if location else None
        return item.payload.get("channel")

    async def _send_notice(self, item: OutboxItem, later: list[OutboxItem]) -> None:
        key = service.notice_lane(item.candidate_id)
        location = await asyncio.to_thread(self._location, key)
        if location and any(other.kind == "notice" for other in later):
            await asyncio.to_thread(self._done, item, "coalesced into a later update")
            return
        if location is None:
            location = await self._found_set_aside_post(item)
        message = await asyncio.to_thread(render_notice, self.runtime, item.candidate_id)
        if location is not None:
            try:
                await call(self.slack, "chat_update", channel=location[0], ts=location[1], **message)
                await asyncio.to_thread(self._done, item)
                return
            except Hopeless as exc:
                if str(exc) not in setaside.MESSAGE_GONE:
                    raise
                await asyncio.to_thread(self._forget, key)  # someone deleted it: post it anew
        response = await call(self.slack, "chat_postMessage", channel=item.payload["channel"], metadata=tag(item), **message)
        await asyncio.to_thread(self._done, item, None, (key, response["channel"], response["ts"]))

    async def _send_thread(self, item: OutboxItem) -> None:
        text = render_event(item.payload)
        if text is None:
            await asyncio.to_thread(self._done, item, f"unknown event {item.payload.get('event')}")
            return
        location = await asyncio.to_thread(self._location, service.notice_lane(item.candidate_id))
        if location is None:
            parents = await asyncio.to_thread(self._set_aside_notices, item.lane)
            if parents:  # no message to thread under: set aside with it, under its error
                _, channel, error, _maybe = parents[-1]
                raise Hopeless(error, target=channel)
            raise Retry("the candidate's message is not posted yet")
        await call(
            self.slack,
            "chat_postMessage",
            channel=location[0],
            thread_ts=location[1],
            text=text,
            reply_broadcast=bool(item.payload.get("broadcast")),
            metadata=tag(item),
        )
        await asyncio.to_thread(self._done, item)

    async def _found_posted(self, item: OutboxItem) -> bool:
        """A send of this message began and its process died: Slack may have taken it. Look for
        the message by its tag before posting again, so a crash doubles nothing."""
        place = await where_posted(self.runtime, self.slack, item)
        if place is None:
            return False
        channel, thread_ts = place
        ts = await look_for(self.runtime, self.slack, item, channel, thread_ts, item.created_at, {item.id})
        if ts is None:
            return False
        if item.kind == "notice":  # recorded now; the send goes on as an update to the current state
            await asyncio.to_thread(self._remember, service.notice_lane(item.candidate_id), channel, ts)
            return False
        await asyncio.to_thread(self._done, item, "already posted before an interrupted send")
        return True

    async def _found_set_aside_post(self, item: OutboxItem) -> tuple[str, str] | None:
        """Before posting a candidate's message afresh: an earlier post of it that was set aside
        after an attempt Slack may have taken is looked for, so the candidate gets one message."""
        notices = await asyncio.to_thread(self._set_aside_notices, item.lane)
        maybe = {notice_id: since for notice_id, _channel, _error, since in notices if since is not None}
        if not maybe:
            return None
        channel = item.payload["channel"]
        ts = await look_for(self.runtime, self.slack, item, channel, None, min(maybe.values()), set(maybe))
        if ts is None:
            return None
        await asyncio.to_thread(self._remember, service.notice_lane(item.candidate_id), channel, ts)
        return channel, ts

    def _set_aside_notices(self, lane: str) -> list[tuple[int, str | None, str, dt.datetime | None]]:
        with self.runtime.db.reading() as session:
            return outbox.set_aside_notices(session, lane)

    def _forget(self, key: str) -> None:
        with self.runtime.db.transaction() as session:
            outbox.forget_message(session, key)

    def _remember(self, key: str, channel: str, ts: str) -> None:
        with self.runtime.db.transaction() as session:
            outbox.remember_message(session, key, channel, ts)

    def _location(self, key: str) -> tuple[str, str] | None:
        with self.runtime.db.reading() as session:
            return outbox.message_location(session, key)


def prune_delivered(runtime: Runtime) -> int:
    """Delivered messages are kept a week for inspection, set-aside ones a month, then dropped."""
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        return outbox.forget_delivered_before(session, now - KEEP_DELIVERED, now - KEEP_SET_ASIDE)


def delivery_backlog(runtime: Runtime) -> tuple[int, dt.datetime | None]:
    with runtime.db.reading() as session:
        return outbox.backlog(session)


def set_aside_counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.reading() as session:
        return outbox.set_aside_counts(session)


def render_notice(runtime: Runtime, candidate_id: int) -> dict:
    candidate = service.get(runtime.db, candidate_id)
    successor = service.get(runtime.db, candidate.superseded_by) if candidate.superseded_by else None
    return candidate_message(candidate, product_name(runtime.config, candidate.product), successor.version if successor else None)


def product_name(config: Config, key: str) -> str:
    product = config.product(key)
    return product.name if product else key
