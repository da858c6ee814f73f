"""Change freezes: only exception releases go out while one covers a product.

`/freeze start <until> <reason> [product|all]` takes a date (frozen through that day), a date
and time, or a duration such as 3d, 12h or 90m, read in the release hours' time zone.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import storage.freezes as store
import storage.outbox as outbox
from bot.config import Config
from bot.release.hours import Freeze, ReleaseWindow, Verdict
from bot.errors import Refused
from storage import Database

UNTIL_EXAMPLE = "a date like 2026-11-30, a date and time like 2026-11-30 17:00, or a duration like 3d, 12h or 90m"
DURATION = re.compile(r"^(\d+)([mhdw])$")
MAX_FREEZE = dt.timedelta(days=366)  # the release hours' next opening is searched this far and more
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
ALL = "all"


def parse_until(words: list[str], now: dt.datetime, timezone: str, what: str = "freeze") -> tuple[dt.datetime, int]:
    """The end of the freeze (or of an absence: `what`) and how many words it took; Refused with an
    example for anything else. `timezone` is the one dates and times are read in."""
    zone = ZoneInfo(timezone)
    first = words[0].lower() if words else ""
    match = DURATION.match(first)
    try:
        if match:
            return _future(now + dt.timedelta(**{UNITS[match[2]]: int(match[1])}), now, what), 1
        if len(words) > 1 and re.fullmatch(r"\d{1,2}:\d{2}", words[1]):
            return _future(dt.datetime.strptime(f"{words[0]} {words[1]}", "%Y-%m-%d %H:%M").replace(tzinfo=zone), now, what), 2
        if "T" in first.upper():
            return _future(dt.datetime.strptime(words[0].upper(), "%Y-%m-%dT%H:%M").replace(tzinfo=zone), now, what), 1
        day = dt.date.fromisoformat(first)
        return _future(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone), now, what), 1
    except OverflowError:
        raise _too_far(first, what) from None
    except ValueError:
        raise Refused(f"I could not read `{{typed}}` as the end of the {what}. Use {UNTIL_EXAMPLE}.", typed=first[:40]) from None


def _future(instant: dt.datetime, now: dt.datetime, what: str) -> dt.datetime:
    if instant <= now:
        raise Refused(f"That time has already passed; {_article(what)} {what} must end in the future.")
    if instant - now > MAX_FREEZE:
        raise _too_far(f"{instant:%Y-%m-%d}", what)
    return instant


def _article(what: str) -> str:
    return "an" if what[:1] in "aeiou" else "a"


def _too_far(until: str, what: str) -> Refused:
    return Refused(
        f"{_article(what).capitalize()} {what} lasts at most {MAX_FREEZE.days} days, and `{until[:40]}` is further away. "
        f"Choose a nearer end and start a new {what} when it ends."
    )


def _channels(config: Config, scope: str) -> list[str]:
    return [p.channel for p in config.products if scope in (ALL, p.key)]


def _scope_name(config: Config, scope: str) -> str:
    product = config.product(scope)
    return "all products" if scope == ALL else product.name if product else scope


def _may_administer(config: Config, user: str, scope: str) -> bool:
    return config.is_admin(user, None if scope == ALL else config.product(scope))


def start(db: Database, config: Config, scope: str, until: dt.datetime, reason: str, user: str, now: dt.datetime) -> Freeze:
    if not _may_administer(config, user, scope):
        raise Refused(f"Only admins can freeze {_scope_name(config, scope)}.")
    if not reason.strip():
        raise Refused("Give the reason for the freeze: `/freeze start <until> <reason> [product|all]`.")
    window = ReleaseWindow(config.release_hours)
    with db.transaction() as session:
        freeze = store.start(session, scope, now, until, reason.strip(), user)
        started = {
            "event": "freeze_started", "by": user, "scope": _scope_name(config, scope),
            "until": window.describe(until, now), "reason": freeze.reason,
        }
        _announce(session, config, scope, started, now)
        return freeze


def end(db: Database, config: Config, scope: str, user: str, now: dt.datetime) -> list[Freeze]:
    if not _may_administer(config, user, scope):
        raise Refused(f"Only admins can end a freeze of {_scope_name(config, scope)}.")
    with db.transaction() as session:
        ending = [f for f in store.active_or_future(session, now) if f.scope == scope]
        if not ending:
            raise Refused(f"There is no freeze of {_scope_name(config, scope)} to end.")
        for freeze in ending:
            store.end_now(session, freeze.id, now, user)
            _announce_end(session, config, freeze, now, user)
        return ending


def announce_ended(db: Database, config: Config, now: dt.datetime) -> int:
    """Announce the freezes that ran out by themselves; each is announced once across replicas."""
    with db.transaction() as session:
        announced = 0
        for freeze in store.ended_unannounced(session, now):
            announced += _announce_end(session, config, freeze, now, None)
        return announced


def _announce_end(session, config: Config, freeze: Freeze, now: dt.datetime, ended_by: str | None) -> int:
    """`ended_by` is None when the freeze ran out by itself."""
    if not store.claim_end_announcement(session, freeze.id):
        return 0
    ended = {"event": "freeze_ended", "by": ended_by, "scope": _scope_name(config, freeze.scope), "reason": freeze.reason}
    _announce(session, config, freeze.scope, ended, now)
    return 1


def _announce(session, config: Config, scope: str, event: dict, now: dt.datetime) -> None:
    for channel in _channels(config, scope):
        outbox.enqueue(session, f"channel:{channel}", "channel", {**event, "channel": channel}, now)


def in_force(db: Database, now: dt.datetime) -> list[Freeze]:
    with db.reading() as session:
        return [f for f in store.active_or_future(session, now) if f.starts_at <= now]


def verdict(db: Database, config: Config, product: str, now: dt.datetime) -> Verdict:
    """May a release of the product go out now, and if not, why and when next."""
    with db.reading() as session:
        active = store.active_or_future(session, now)
    return ReleaseWindow(config.release_hours).verdict(now, active, product)
