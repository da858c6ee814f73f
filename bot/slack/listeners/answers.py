"""Private answers to a button press, wherever the button was: a message or the App Home.

A press in a message carries a response URL, so the answer is ephemeral beside it; a press in the
App Home carries the view instead and no response URL, so the answer goes by DM (the app's
Messages tab), and the Home is published again at once, as a refusal there means it showed
something out of date.
"""

from __future__ import annotations

import asyncio

from bot.runtime import Runtime
from bot.slack.blocks.text import SECTION_LIMIT, fit, private_reply, section
from bot.slack.home import render_home


def from_home(body: dict) -> bool:
    return (body.get("view") or {}).get("type") == "home"


async def tell(runtime: Runtime, body: dict, respond, client, text: str) -> None:
    if body.get("response_url"):
        await respond(**private_reply(text), replace_original=False)
        return
    user = body["user"]["id"]
    await client.chat_postMessage(channel=user, text=fit(text, SECTION_LIMIT), blocks=[section(text)])
    if from_home(body):
        view = await asyncio.to_thread(render_home, runtime, user)
        await client.views_publish(user_id=user, view=view)


async def thank(runtime: Runtime, body: dict, respond, client, text: str) -> None:
    """A success needs no word in the Home: the outbox publishes it again, without what was done."""
    if not from_home(body):
        await tell(runtime, body, respond, client, text)
