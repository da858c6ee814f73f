"""The candidate message's controls: Verified, delegate to a teammate, Non-viable, All changes."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.release import service, signoffs
from bot.errors import Refused
from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.candidate import nonviable_modal
from bot.slack.blocks.changes import changes_modal, page_of
from bot.slack.blocks.text import refusal_text
from bot.slack.delivery import product_name
from bot.slack.directory import SlackDirectory
from bot.slack.listeners.answers import tell, thank


def candidate_id_of(action: dict) -> int:
    value = str(action.get("value", ""))
    if not value.isdigit() or len(value) > 18:
        raise Refused("That button does not belong to a release candidate.")
    return int(value)


def register(app: AsyncApp, runtime: Runtime) -> None:
    directory = SlackDirectory(runtime)

    @app.action(ids.any_item(ids.VERIFY))
    async def verified(ack, body: dict, action: dict, respond, client) -> None:
        await ack()
        user = body["user"]["id"]
        try:
            candidate, engineers = await asyncio.to_thread(
                signoffs.verify, runtime.db, runtime.config, candidate_id_of(action), user, runtime.clock.now()
            )
        except Refused as refusal:
            await tell(runtime, body, respond, client, refusal_text(refusal))
            return
        runtime.wake_delivery()
        others = [e for e in engineers if e != user]
        extra = f" (including {len(others)} delegated to you)" if others else ""
        await thank(runtime, body, respond, client, f"Thank you: your sign-off on {candidate.version}{extra} is recorded.")

    @app.action(ids.any_item(ids.DELEGATE))
    async def delegated(ack, body: dict, action: dict, respond, client) -> None:
        await ack()
        user, teammate_id = body["user"]["id"], action.get("selected_user")
        try:
            candidate_id = _candidate_of(body, action)
            teammate = await directory.person(teammate_id) if teammate_id else None
            if teammate is None:
                raise Refused("Pick a teammate from the list to verify your changes.")
            candidate = await asyncio.to_thread(
                signoffs.delegate, runtime.db, runtime.config, candidate_id, user, teammate, runtime.clock.now()
            )
        except Refused as refusal:
            await tell(runtime, body, respond, client, refusal_text(refusal))
            return
        runtime.wake_delivery()
        await thank(runtime, body, respond, client, f"<@{teammate_id}> will verify your changes in {candidate.version}; they have been told.")

    @app.action(ids.NONVIABLE)
    async def nonviable(ack, body: dict, action: dict, client, respond) -> None:
        await ack()
        try:
            candidate = await asyncio.to_thread(
                signoffs.check_nonviable_allowed,
                runtime.db, runtime.config, candidate_id_of(action), body["user"]["id"], runtime.clock.now(),
            )
        except Refused as refusal:
            await tell(runtime, body, respond, client, refusal_text(refusal))
            return
        await client.views_open(
            trigger_id=body["trigger_id"], view=nonviable_modal(candidate, product_name(runtime.config, candidate.product))
        )

    @app.action(ids.CHANGES)
    async def all_changes(ack, body: dict, action: dict, client, respond) -> None:
        await ack()
        try:
            candidate = await asyncio.to_thread(service.get, runtime.db, candidate_id_of(action))
            if candidate is None:
                raise Refused("That release candidate no longer exists.")
        except Refused as refusal:
            await tell(runtime, body, respond, client, str(refusal))
            return
        name = product_name(runtime.config, candidate.product)
        await client.views_open(trigger_id=body["trigger_id"], view=changes_modal(candidate, name, body["user"]["id"]))

    async def turn_page(ack, body: dict, action: dict, client) -> None:
        """Previous / Next in the changes modal: the same modal, another page."""
        await ack()
        wanted = page_of(action.get("value", ""))
        candidate = await asyncio.to_thread(service.get, runtime.db, wanted[0]) if wanted else None
        if candidate is None:
            return
        view = changes_modal(candidate, product_name(runtime.config, candidate.product), body["user"]["id"], wanted[1])
        await client.views_update(view_id=body["view"]["id"], hash=body["view"].get("hash"), view=view)

    for page_action in (ids.CHANGES_PREVIOUS, ids.CHANGES_NEXT):
        app.action(page_action)(turn_page)


def _candidate_of(body: dict, action: dict) -> int:
    """A users_select has no value of its own: in the App Home its action id names the candidate
    (`rc_delegate:12`); in the message the candidate is the Verified button's value beside it."""
    named = ids.item_of(str(action.get("action_id", "")))
    if named is not None:
        return named
    for block in body.get("message", {}).get("blocks", []):
        for element in block.get("elements", []) if block.get("block_id") == ids.CANDIDATE_ACTIONS_BLOCK else []:
            if element.get("action_id") == ids.VERIFY:
                return candidate_id_of(element)
    raise Refused("That menu does not belong to a release candidate.")
