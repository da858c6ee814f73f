"""/flag: feature flags."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.usage import FLAG_USAGE, usage_reply
from bot.slack.listeners.commands.parsing import split_subcommand

COMMAND = ids.FLAG_COMMAND

FLAG_NOTE = "Feature flags are not switched on in this version of releasebot yet."


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.command(COMMAND)
    async def flag(ack, command: dict) -> None:
        subcommand, _rest = split_subcommand(command.get("text", ""))
        not_understood = None if subcommand in ("", "help") else command.get("text", "").strip()
        await ack(**usage_reply(COMMAND, FLAG_USAGE, not_understood, FLAG_NOTE))
