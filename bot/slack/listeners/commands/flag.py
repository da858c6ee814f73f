"""/flag: feature flags. Parse, acknowledge at once, call the flag service, answer privately."""

from __future__ import annotations

import asyncio
import re

from slack_bolt.async_app import AsyncApp

from bot.errors import Refused
from bot.flags import service
from bot.flags.definitions import parse_variant_value
from bot.flags.model import FlagType
from bot.rollouts import service as rollouts
from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.flags import history_reply, list_reply, show_reply
from bot.slack.blocks.text import escape, private_reply, refusal_reply
from bot.slack.blocks.usage import FLAG_USAGE, usage_reply
from bot.slack.listeners.commands.parsing import mentioned_user, split_subcommand
from bot.slack.listeners.commands.plan import plan_reply

COMMAND = ids.FLAG_COMMAND
PERCENT = re.compile(r"^(\d{1,3})%?$")
MAX_TARGET = 256


def register(app: AsyncApp, runtime: Runtime) -> None:
    config = runtime.config

    def environment_from(words: list[str]) -> tuple[list[str], str | None]:
        """A trailing environment name is the environment; the rest are the arguments."""
        if words and words[-1] in config.flags.environments:
            return words[:-1], words[-1]
        return words, None

    def usage(problem: str) -> Refused:
        return Refused(f"{problem}\n" + "\n".join(f"`{syntax}`  {meaning}" for syntax, meaning in FLAG_USAGE))

    def run(subcommand: str, words: list[str], user: str, channel: str) -> dict:
        now = runtime.clock.now()
        if subcommand == "list":
            return list_reply(service.all_flags(runtime.db), config)
        if subcommand == "plan":
            return plan_reply(runtime, words, user)
        if not words:
            raise usage(f"`/flag {subcommand}` needs a flag key.")
        key, rest = words[0], words[1:]
        if subcommand == "create":
            flag_type = FlagType.RELEASE
            if rest and rest[0].lower() in {t.value for t in FlagType}:
                flag_type, rest = FlagType(rest[0].lower()), rest[1:]
            variants = None
            if rest and rest[0].lower() == "variants":
                variants, rest = variants_of(rest[1:]), []
            product = config.product_for_channel(channel)
            flag = service.create(
                runtime.db, config, key, flag_type, " ".join(rest)[:500], user, product.key if product else None, now, variants
            )
            serving = "off" if variants is None else f"`{escape(next(iter(variants)))}`"
            return private_reply(f"Created the {flag.type.value} flag `{flag.key}`, serving {serving} in every environment. You own it.")
        if subcommand == "show":
            flag, changes = service.history(runtime.db, key)
            if flag.archived:
                raise Refused("`{key}` is archived.", key=key[:70])
            return show_reply(flag, config, changes)
        if subcommand == "history":
            return history_reply(*service.history(runtime.db, key))
        if subcommand == "owner":
            new_owner = mentioned_user(rest[0]) if len(rest) == 1 else None
            if new_owner is None:
                raise usage("Name the new owner: `/flag owner <key> @user`.")
            return private_reply(service.set_owner(runtime.db, config, key, new_owner, user, now))
        if subcommand == "archive":
            return private_reply(service.archive(runtime.db, config, key, user, now))
        rest, environment = environment_from(rest)
        operation = operation_of(subcommand, rest)
        outcome = service.change(runtime.db, config, key, environment, operation, user, now)
        if subcommand == "off" and outcome.request_id is None:  # the kill switch ends the flag's plan there
            rollouts.abort_on_kill(runtime.db, config, key, environment, user, now)
        return private_reply(outcome.message)

    def operation_of(subcommand: str, rest: list[str]) -> dict:
        if subcommand in ("on", "off"):
            if rest:
                raise usage(f"I did not understand `{escape(' '.join(rest)[:60])}`; environments: {', '.join(config.flags.environments)}.")
            return {"op": subcommand}
        if subcommand == "rollout":
            match = PERCENT.match(rest[0]) if len(rest) == 1 else None
            if match is None or int(match[1]) > 100:
                raise usage("Give a percentage from 0 to 100: `/flag rollout <key> 25%`.")
            return {"op": "rollout", "percent": int(match[1])}
        if subcommand == "serve":
            if len(rest) != 1:
                raise usage("Name one variant: `/flag serve <key> <variant> [env]`.")
            return {"op": "serve", "variant": rest[0]}
        if subcommand == "split":
            return {"op": "split", "weights": weights_of(rest)}
        mode = rest[0].lower() if rest else ""
        named = [mentioned_user(word) or word for word in rest[1:]]
        if mode not in ("add", "remove") or not named or any(len(k) > MAX_TARGET for k in named):
            raise usage("`/flag target <key> add|remove <targeting key, @user or segment:NAME>... [env]`.")
        segments = [word.removeprefix("segment:") for word in named if word.startswith("segment:")]
        unknown = [name for name in segments if name not in config.flags.segments]
        if unknown and mode == "add":
            known = ", ".join(f"`segment:{name}`" for name in config.flags.segments) or "none (flags.segments is empty)"
            raise Refused("There is no segment `{name}`; segments: " + known + ".", name=unknown[0][:60])
        return {"op": "target", "mode": mode, "keys": [k for k in named if not k.startswith("segment:")], "segments": segments}

    def variants_of(words: list[str]) -> dict:
        variants = {}
        for word in words:
            name, equals, value = word.partition("=")
            if not equals or not name:
                raise usage("Give each variant as `<name>=<value>`: `/flag create banner variants red=\"#f00\" blue=\"#00f\"`.")
            variants[name[:64]] = parse_variant_value(value)
        if not variants:
            raise usage("Name at least one variant: `/flag create <key> variants <name>=<value>...`.")
        return variants

    def weights_of(words: list[str]) -> list[list]:
        weights = []
        for word in words:
            name, equals, weight = word.partition("=")
            match = PERCENT.match(weight) if equals and name else None
            if match is None:
                raise usage("Give each share as `<variant>=<weight>`: `/flag split <key> red=50 blue=50 [env]`.")
            weights.append([name, int(match[1])])
        total = sum(w for _, w in weights)
        if not weights or total != 100:
            raise Refused(f"The weights add up to {total}, not 100; nothing changed.")
        return weights

    @app.command(COMMAND)
    async def flag(ack, command: dict, respond) -> None:
        text = command.get("text", "")
        subcommand, rest = split_subcommand(text)
        if subcommand in ("", "help"):
            await ack(**usage_reply(COMMAND, FLAG_USAGE))
            return
        if subcommand not in SUBCOMMANDS:
            await ack(**usage_reply(COMMAND, FLAG_USAGE, text.strip()))
            return
        await ack()
        try:
            reply = await asyncio.to_thread(run, subcommand, rest.split(), command["user_id"], command.get("channel_id", ""))
            runtime.wake_delivery()
        except Refused as refusal:
            reply = refusal_reply(refusal)
        await respond(**reply, replace_original=False)


SUBCOMMANDS = {"create", "list", "show", "on", "off", "rollout", "target", "serve", "split", "owner", "history", "archive", "plan"}
