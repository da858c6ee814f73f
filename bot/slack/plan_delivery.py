"""Sending a rollout plan's message and thread for the delivery worker: the message is rendered
from the plan's state when sent and updated in place; its events go in its thread. A send that
began and was interrupted (a crash, a timeout) is first looked for by its tag, as candidate
messages are, so a restart doubles neither the message nor a thread line."""

from __future__ import annotations

import asyncio

from bot.rollouts import service
from bot.runtime import Runtime
from bot.slack.blocks.events import render as render_event
from bot.slack.blocks.rollouts import plan_message
from bot.slack.recovery import look_for, tag
from bot.slack.setaside import Retry, call
from storage.outbox import OutboxItem


def render_plan(runtime: Runtime, plan_id: int) -> dict:
    now = runtime.clock.now()
    return plan_message(service.view(runtime.db, runtime.config, plan_id, now), service.window(runtime.config), now)


async def send(delivery, item: OutboxItem, later: list[OutboxItem]) -> None:
    plan_id = int(item.payload["plan_id"])
    key = service.lane(plan_id)
    location = await asyncio.to_thread(delivery._location, key)
    if item.kind == "plan_thread":
        if location is None:
            raise Retry("the plan's message is not posted yet")
        if item.sending_since is not None and await look_for(
            delivery.runtime, delivery.slack, item, location[0], location[1], item.created_at, {item.id}
        ):
            await asyncio.to_thread(delivery._done, item, "already posted before an interrupted send")
            return
        line = render_event(item.payload) or ""
        await call(delivery.slack, "chat_postMessage", channel=location[0], thread_ts=location[1], text=line, metadata=tag(item))
        await asyncio.to_thread(delivery._done, item)
        return
    if location and any(other.kind == "plan" for other in later):
        await asyncio.to_thread(delivery._done, item, "coalesced into a later update")
        return
    if location is None and item.sending_since is not None:
        channel = item.payload["channel"]
        ts = await look_for(delivery.runtime, delivery.slack, item, channel, None, item.created_at, {item.id})
        if ts:
            await asyncio.to_thread(delivery._remember, key, channel, ts)
            location = (channel, ts)
    message = await asyncio.to_thread(render_plan, delivery.runtime, plan_id)
    if location is None:
        response = await call(delivery.slack, "chat_postMessage", channel=item.payload["channel"], metadata=tag(item), **message)
        await asyncio.to_thread(delivery._done, item, None, (key, response["channel"], response["ts"]))
    else:
        await call(delivery.slack, "chat_update", channel=location[0], ts=location[1], **message)
        await asyncio.to_thread(delivery._done, item)
