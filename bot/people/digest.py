"""Delivery figures of a product and its weekly digest: load the record, compute, owe the message.

The digest is owed through the outbox as a `channel` item carrying the week's facts; the Slack
layer (bot/slack/blocks/digest.py) words and escapes them when it sends. Each product's weekly
run is claimed in the same transaction, so replicas and restarts post it once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import storage.jobs as jobs
import storage.outbox as outbox
import storage.stats as store
from bot.config import WEEKDAYS, Config, Product
from bot.errors import Refused
from bot.people.stats import Figures, History, Signal, SignalKind, figures, figures_json
from storage import Database
from storage.flags import FlagChange

JOB = "digest"
DEFAULT_DAYS = 30
MAX_DAYS = 365
DIGEST_DAYS = 30  # the digest's figures cover the last 30 days
ITEMS = 25  # of each kind carried by the digest; the rest are counted
NOT_A_CHANGE = frozenset({"off", "reject"})  # after a kill switch, any other change turns the flag back on


def parse_days(typed: str | None) -> int:
    """The window in days: a whole number from 1 to 365; DEFAULT_DAYS when none is given (None)."""
    if typed is None:
        return DEFAULT_DAYS
    word = typed.strip()
    if not word.isascii() or not word.isdigit() or not 1 <= int(word) <= MAX_DAYS:
        raise Refused(
            f"The number of days must be a whole number from 1 to {MAX_DAYS}; `{{typed}}` is not.", typed=word[:40]
        )
    return int(word)


def _kill_switches(changes: list[FlagChange]) -> list[Signal]:
    """Each `/flag off`, with the moment the same flag in the same environment was next changed
    by anything but another off (turned on, rolled out, targeted, served a variant)."""
    signals = []
    for index, change in enumerate(changes):
        if change.action != "off":
            continue
        back_on = next(
            (later.at for later in changes[index + 1:]
             if later.flag_key == change.flag_key and later.environment == change.environment and later.action not in NOT_A_CHANGE),
            None,
        )
        signals.append(Signal(SignalKind.KILL_SWITCH, change.at, change.flag_key, restored_at=back_on))
    return signals


def _history(session, config: Config, product: str, since: dt.datetime, until: dt.datetime) -> History:
    signals = [Signal(SignalKind.URGENT_CUT, m.at, m.version, m.base_sha) for m in store.urgent_cuts(session, product, since, until)]
    signals += [Signal(SignalKind.NON_VIABLE, m.at, m.version, m.base_sha) for m in store.nonviable(session, product, since, until)]
    signals += _kill_switches(store.flag_changes(session, product, list(config.flags.protected), since, until))
    return History(tuple(store.released_changes(session, product, since, until)), tuple(signals))


def _figures(session, config: Config, product: str, now: dt.datetime, days: int) -> Figures:
    since = now - dt.timedelta(days=days)
    return figures(_history(session, config, product, since, now), since, now, config.stats.failure_window)


def product_figures(db: Database, config: Config, product: str, now: dt.datetime, days: int) -> Figures:
    with db.reading() as session:
        return _figures(session, config, product, now, days)


# ---------------------------------------------------------------- the weekly digest


def run_key(config: Config, now: dt.datetime) -> str | None:
    """This week's run (its ISO week) once the digest day and time have come, in the release hours'
    time zone; None before then and on every other day, so a bot down at that time makes the
    digest up later the same day but never on a later one."""
    local = now.astimezone(ZoneInfo(config.release_hours.timezone))
    if WEEKDAYS[local.weekday()] != config.digest.day or local.time() < config.digest.time:
        return None
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(config: Config, now: dt.datetime) -> dt.datetime:
    """The digest time on the same weekday a week before, in local time (a DST change between
    them does not shift it)."""
    zone = ZoneInfo(config.release_hours.timezone)
    local = now.astimezone(zone)
    return dt.datetime.combine(local.date() - dt.timedelta(days=7), config.digest.time, zone)


def owe_digest(db: Database, config: Config, product: Product, now: dt.datetime, key: str | None) -> bool:
    """Owe the product's digest of the week up to now; with a run key, only if this week's run
    is not claimed yet (claimed here, in the same transaction). False when it was."""
    since = week_start(config, now) if key else now - dt.timedelta(days=7)
    with db.transaction() as session:
        if key and jobs.claim(session, JOB, product.key, key, now) is None:
            return False
        payload = {"event": "digest", "channel": product.channel, **_facts(session, config, product, since, now)}
        outbox.enqueue(session, f"channel:{product.channel}", "channel", payload, now)
        return True


def _capped(items: list[dict]) -> dict:
    return {"items": items[:ITEMS], "more": max(0, len(items) - ITEMS)}


def _facts(session, config: Config, product: Product, since: dt.datetime, until: dt.datetime) -> dict:
    released = store.releases(session, product.key, since, until)
    zone = config.release_hours.timezone
    return {
        "product": product.name,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "timezone": zone,
        "releases": _capped([
            {"version": r.version, "at": r.released_at.isoformat(), "manager": r.release_manager, "by": r.released_by}
            for r in released
        ]),
        "nonviable": _capped([
            {"version": m.version, "by": m.by, "reason": m.reason} for m in store.nonviable(session, product.key, since, until)
        ]),
        "exceptions": _capped([
            {"version": r.version, "exception": r.exception, "note": r.exception_note, "by": r.released_by}
            for r in released if r.exception
        ] + [
            {"version": r.version, "pending_reason": r.pending_reason, "by": r.released_by}
            for r in released if r.pending_reason
        ]),
        "freezes": _capped([
            {"scope": f.scope, "reason": f.reason, "from": f.starts_at.isoformat(), "until": f.ends_at.isoformat(), "by": f.created_by}
            for f in store.freezes(session, product.key, since, until)
        ]),
        "flags": _capped([
            {"key": c.flag_key, "environment": c.environment, "action": c.action, "change": c.reason,
             "by": c.actor, "approver": c.approver, "at": c.at.isoformat()}
            for c in store.flag_changes(session, product.key, list(config.flags.protected), since, until)
        ]),
        "figures": figures_json(_figures(session, config, product.key, until, DIGEST_DAYS), config.stats.failure_window),
    }
