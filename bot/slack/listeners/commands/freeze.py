"""/freeze: change freezes."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.usage import FREEZE_USAGE, usage_reply
from bot.slack.listeners.commands.parsing import split_subcommand

COMMAND = ids.FREEZE_COMMAND

FREEZE_NOTE = "Change freezes are not switched on in this version of releasebot yet."


def register(app: AsyncApp, runtime: Runtime) -> None:
    @app.command(COMMAND)
    async def freeze(ack, command: dict) -> None:
        subcommand, _rest = split_subcommand(command.get("text", ""))
        not_understood = None if subcommand == "help" else command.get("text", "").strip() or None
        await ack(**usage_reply(COMMAND, FREEZE_USAGE, not_understood, FREEZE_NOTE))
