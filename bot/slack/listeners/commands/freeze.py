"""/freeze: change freezes, by admins."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp

from bot.release import freezes
from bot.release.hours import ReleaseWindow
from bot.errors import Refused
from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.release import freezes_reply
from bot.slack.blocks.text import escape, private_reply, refusal_reply
from bot.slack.blocks.usage import FREEZE_USAGE, usage_reply
from bot.slack.listeners.commands.parsing import split_subcommand

COMMAND = ids.FREEZE_COMMAND


def register(app: AsyncApp, runtime: Runtime) -> None:
    config = runtime.config

    def scope_of(word: str | None, channel: str) -> str:
        """A product key or "all"; without one, the channel's product, else all products."""
        if word is None:
            in_channel = config.product_for_channel(channel)
            return in_channel.key if in_channel else freezes.ALL
        if word == freezes.ALL or config.product(word):
            return word
        raise Refused(f"I don't know the product `{escape(word[:40])}`; name a product key or `all`.")

    def start(rest: str, user: str, channel: str) -> str:
        words = rest.split()
        if not words:
            raise Refused(f"Say until when and why: `/freeze start <until> <reason> [product|all]`, where <until> is {freezes.UNTIL_EXAMPLE}.")
        now = runtime.clock.now()
        until, used = freezes.parse_until(words, now, config.release_hours.timezone)
        words = words[used:]
        last = words[-1].lower() if words else None
        scope_word = last if last is not None and (last == freezes.ALL or config.product(last)) else None
        reason = " ".join(words[:-1] if scope_word else words)
        freeze = freezes.start(runtime.db, config, scope_of(scope_word, channel), until, reason, user, now)
        window = ReleaseWindow(config.release_hours)
        return f"Frozen until {window.describe(freeze.ends_at, now)}; the affected channels have been told."

    def end(rest: str, user: str, channel: str) -> str:
        word = rest.split()[0].lower() if rest.split() else None
        ended = freezes.end(runtime.db, config, scope_of(word, channel), user, runtime.clock.now())
        return f"Ended {len(ended)} freeze{'s' if len(ended) > 1 else ''}; the affected channels have been told."

    @app.command(COMMAND)
    async def freeze(ack, command: dict, respond) -> None:
        text = command.get("text", "")
        subcommand, rest = split_subcommand(text)
        if subcommand == "help":
            await ack(**usage_reply(COMMAND, FREEZE_USAGE))
            return
        if subcommand not in ("", "status", "start", "end"):
            await ack(**usage_reply(COMMAND, FREEZE_USAGE, text.strip()))
            return
        await ack()
        user, channel = command["user_id"], command.get("channel_id", "")
        try:
            if subcommand in ("", "status"):
                in_force = await asyncio.to_thread(freezes.in_force, runtime.db, runtime.clock.now())
                names = {p.key: p.name for p in config.products}
                reply = freezes_reply(in_force, names, ReleaseWindow(config.release_hours))
            else:
                action = start if subcommand == "start" else end
                reply = private_reply(await asyncio.to_thread(action, rest, user, channel))
                runtime.wake_delivery()
        except Refused as refusal:
            reply = refusal_reply(refusal)
        await respond(**reply, replace_original=False)
