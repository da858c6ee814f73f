"""/rc: release candidates. Parse, acknowledge at once, call the service, answer privately."""

from __future__ import annotations

import asyncio

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.config import Product
from bot.errors import Refused
from bot.people import away as away_rules
from bot.people import digest
from bot.people import service as people
from bot.people.stats import figures_json
from bot.release import flows, freezes, releasing, service, signoffs
from bot.release.hours import ReleaseWindow
from bot.release.model import Trigger
from bot.release.releasing import ReleaseClosed, ReleaseRequest
from bot.release.service import CutRequest
from bot.runtime import Runtime
from bot.slack import ids
from bot.slack.blocks.candidate import status_reply
from bot.slack.blocks.digest import stats_reply
from bot.slack.blocks.release import closed_reply, history_reply
from bot.slack.blocks.text import escape, private_reply, refusal_reply
from bot.slack.blocks.usage import rc_usage
from bot.slack.directory import SlackDirectory
from bot.slack.listeners.commands.parsing import mentioned_user, split_subcommand

COMMAND = ids.RC_COMMAND
NEXT_MARKER = "next:"


def register(app: AsyncApp, runtime: Runtime) -> None:
    directory = SlackDirectory(runtime)

    @app.command(COMMAND)
    async def rc(ack, command: dict, respond) -> None:
        text = command.get("text", "")
        subcommand, rest = split_subcommand(text)
        handler = SUBCOMMANDS.get(subcommand)
        if subcommand in ("", "help"):
            await ack(**rc_usage())
            return
        if subcommand in PERSONAL:  # about the person, not a product
            await ack()
            try:
                reply = await PERSONAL[subcommand](runtime, directory, command["user_id"], rest)
            except Refused as refusal:
                reply = refusal_reply(refusal)
            await respond(**reply, replace_original=False)
            return
        if handler is None:
            await ack(**rc_usage(not_understood=text.strip()))
            return
        try:
            product, rest = _product(runtime, command.get("channel_id", ""), rest)
        except Refused as refusal:
            await ack(**refusal_reply(refusal))
            return
        await ack()
        try:
            reply = await handler(runtime, directory, product, command["user_id"], rest)
        except Refused as refusal:
            reply = refusal_reply(refusal)
        await respond(**reply, replace_original=False)


def _product(runtime: Runtime, channel: str, rest: str) -> tuple[Product, str]:
    """The product named first, else the channel's, and the words after it."""
    config = runtime.config
    first, _, after = rest.partition(" ")
    named = config.product(first.lower()) if first else None
    if named is not None:
        return named, after.strip()
    in_channel = config.product_for_channel(channel)
    if in_channel is not None:
        return in_channel, rest
    keys = ", ".join(f"`{p.key}`" for p in config.products) or "none configured"
    if first:
        raise Refused(f"I don't know the product `{escape(first[:40])}`. Products: {keys}.")
    example = config.products[0].key if config.products else "checkout"
    raise Refused(f"Which product? This channel is not a release channel; name one, e.g. `/rc status {example}`. Products: {keys}.")


async def status(runtime, directory, product: Product, user: str, rest: str) -> dict:
    candidate = await asyncio.to_thread(service.current, runtime.db, product.key)
    permalink = None
    if candidate is not None:
        location = await asyncio.to_thread(service.notice_location, runtime.db, candidate.id)
        if location:
            try:
                permalink = (await runtime.slack.chat_getPermalink(channel=location[0], message_ts=location[1]))["permalink"]
            except SlackApiError:
                permalink = None  # the status is worth more than the link
    return status_reply(candidate, product.name, permalink)


async def cut(runtime, directory, product: Product, user: str, rest: str) -> dict:
    word, _, reason = rest.partition(" ")
    urgent = word.lower() == "urgent"
    if rest and not urgent:
        raise Refused(f"`/rc cut` takes no words besides `urgent <reason>`; I did not understand `{escape(rest[:60])}`.")
    if urgent and not reason.strip():
        raise Refused("An urgent cut needs a reason the team can read: `/rc cut urgent <reason>`.")
    request = CutRequest(product=product, trigger=Trigger.MANUAL, actor=user, urgent_reason=reason.strip() or None)
    outcome = await flows.cut(runtime, directory, request)
    candidate = outcome.candidate
    replaced = f", replacing {outcome.superseded.version}" if outcome.superseded else ""
    return private_reply(
        f"Cut {product.name} {candidate.version} with {len(candidate.changes)} changes{replaced}. "
        "You are its release manager; the notice is in the channel."
    )


async def nonviable(runtime, directory, product: Product, user: str, rest: str) -> dict:
    reason, _, next_steps = rest.partition(NEXT_MARKER)
    if not reason.strip():
        raise Refused("Say why: `/rc nonviable <reason> [next: <what happens next>]`.")
    current = await asyncio.to_thread(service.current, runtime.db, product.key)
    if current is None or not current.in_progress:
        raise Refused(f"{product.name} has no candidate in progress.")
    candidate = await asyncio.to_thread(
        signoffs.declare_nonviable, runtime.db, runtime.config, current.id, user, reason, next_steps, runtime.clock.now()
    )
    runtime.wake_delivery()
    return private_reply(f"{product.name} {candidate.version} is now marked not viable; the channel has been told.")


async def manager(runtime, directory, product: Product, user: str, rest: str) -> dict:
    new_manager = mentioned_user(rest)
    if new_manager is None:
        raise Refused("Name the new release manager: `/rc manager @user`.")
    person = await directory.person(new_manager)
    if person is None:
        raise Refused(f"I cannot find <@{new_manager}> in this workspace.")
    candidate = await asyncio.to_thread(signoffs.hand_over, runtime.db, runtime.config, product, user, person, runtime.clock.now())
    runtime.wake_delivery()
    return private_reply(f"<@{new_manager}> is now the release manager of {product.name} {candidate.version}.")


async def release(runtime, directory, product: Product, user: str, rest: str) -> dict:
    request = ReleaseRequest(product=product, actor=user, pending_reason=rest.strip() or None)
    try:
        done = await flows.release(runtime, request)
    except ReleaseClosed as closed:
        return closed_reply(str(closed), closed.candidate, request.pending_reason)
    return private_reply(f"Released {product.name} {done.version} to production; the channel has been told.")


async def history(runtime, directory, product: Product, user: str, rest: str) -> dict:
    releases = await asyncio.to_thread(releasing.releases_of, runtime.db, product.key, 10)
    return history_reply(product.name, releases, ReleaseWindow(runtime.config.release_hours))


async def stats(runtime, directory, product: Product, user: str, rest: str) -> dict:
    words = rest.split()
    if len(words) > 1:
        raise Refused("`/rc stats` takes at most a product and a number of days: `/rc stats [product] [days]`.")
    days = digest.parse_days(words[0] if words else None)
    found = await asyncio.to_thread(digest.product_figures, runtime.db, runtime.config, product.key, runtime.clock.now(), days)
    return stats_reply(product.name, figures_json(found, runtime.config.stats.failure_window))


async def away(runtime, directory, user: str, rest: str) -> dict:
    """`/rc away <until> [@delegate]`, `/rc away end`, and `/rc away` for your status; dates and
    times are read in your own Slack time zone."""
    now, fallback = runtime.clock.now(), runtime.config.release_hours.timezone
    me = await directory.person(user)
    zone = (me.timezone if me else None) or fallback
    words = rest.split()
    if not words:
        plan = await asyncio.to_thread(people.away_status, runtime.db, user, now)
        if plan is None:
            return private_reply("You are not away. Set an absence with `/rc away <until> [@delegate]`.")
        return private_reply(_away_line("You are away", plan, zone, fallback))
    if words[0].lower() == "end" and len(words) == 1:
        await asyncio.to_thread(people.come_back, runtime.db, user, now)
        return private_reply("Welcome back: you are no longer away, and new candidates ask you to verify your changes.")
    until, used = freezes.parse_until(words, now, zone, what="absence")
    rest_words = words[used:]
    delegate = mentioned_user(rest_words[0]) if len(rest_words) == 1 else None
    if rest_words and delegate is None:
        raise Refused("Name the delegate as a mention after the end: `/rc away <until> [@delegate]`.")
    if delegate is not None:
        away_rules.check_delegate(user, delegate, await directory.person(delegate))
    plan = await asyncio.to_thread(people.go_away, runtime.db, user, until, delegate, now)
    return private_reply(_away_line("You are away", plan, zone, fallback) + " You are not picked as release manager meanwhile.")


def _away_line(lead: str, plan, zone: str, fallback: str) -> str:
    who = f"<@{plan.delegate}>" if plan.delegate else "the release manager"
    until = escape(away_rules.describe_until(plan.until, zone, fallback))
    return f"{lead} until {until}; {who} verifies your changes in new candidates."


PERSONAL = {"away": away}

SUBCOMMANDS = {
    "status": status,
    "cut": cut,
    "nonviable": nonviable,
    "release": release,
    "manager": manager,
    "history": history,
    "stats": stats,
}
