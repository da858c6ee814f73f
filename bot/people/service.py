"""People services: going away and coming back, and the reminder round.

The round reads the recorded facts, asks bot.people.reminders what is due now, and records each
reminder it sends in the same transaction as the owed message: the claim is unique per kind,
candidate, person and day, so replicas running the round at once send each reminder once.
"""

from __future__ import annotations

import datetime as dt

import storage.candidates as candidates
import storage.freezes as freezes
import storage.people as people_store
from bot.config import Config
from bot.errors import Refused
from bot.people import reminders
from bot.people.away import Away
from bot.release.hours import ReleaseWindow
from bot.release.model import Candidate
from bot.release.service import owe_dm, owe_home, owe_thread
from storage import Database


def go_away(db: Database, user: str, until: dt.datetime, delegate: str | None, now: dt.datetime) -> Away:
    """Away from now until `until` (replacing an earlier plan); the checks on the delegate come first."""
    away = Away(user=user, until=until, delegate=delegate, since=now)
    with db.transaction() as session:
        people_store.set_away(session, away)
        owe_home(session, user, now)
    return away


def come_back(db: Database, user: str, now: dt.datetime) -> Away:
    with db.transaction() as session:
        away = people_store.away_of(session, user, now)
        if away is None:
            raise Refused("You are not away; set an absence with `/rc away <until> [@delegate]`.")
        people_store.end_away(session, user)
        owe_home(session, user, now)
        return away


def away_status(db: Database, user: str, now: dt.datetime) -> Away | None:
    with db.reading() as session:
        return people_store.away_of(session, user, now)


def remind(db: Database, config: Config, now: dt.datetime) -> list[reminders.Due]:
    """Send what is due now; the reminders this round sent (claimed by no other round)."""
    window = ReleaseWindow(config.release_hours)
    with db.reading() as session:
        open_candidates = [c for c in (candidates.in_progress(session, p.key) for p in config.products) if c]
        if not open_candidates:
            return []
        people = {e.user for c in open_candidates for e in c.engineers if e.user}
        people |= {c.release_manager for c in open_candidates} | {d for c in open_candidates for d in c.delegations.values()}
        away = people_store.away_now(session, now)
        people |= {a.delegate for a in away.values() if a.delegate}
        timezones = people_store.timezones(session, people)
        sent = people_store.sent_for(session, [c.id for c in open_candidates])
        active = freezes.active_or_future(session, now)
    found = reminders.due(open_candidates, timezones, away, sent, now, config.reminders, window, active)
    if not found:
        return []
    done = []
    with db.transaction() as session:
        for reminder in found:
            if people_store.claim(session, reminder.sent, now):
                _owe(session, config, window, reminder, now)
                done.append(reminder)
    return done


def _owe(session, config: Config, window: ReleaseWindow, reminder: reminders.Due, now: dt.datetime) -> None:
    candidate: Candidate = reminder.candidate
    product = config.product(candidate.product)
    release = {"product": product.name if product else candidate.product, "version": candidate.version}
    kind, person = reminder.sent.kind, reminder.sent.user
    if kind == reminders.PENDING:
        event = {"event": "reminder", **release, "engineers": list(reminder.engineers), "verify_candidate": candidate.id}
        owe_dm(session, person, event, now, candidate.id)
    elif kind == reminders.ESCALATE:
        event = {"event": "escalation", "manager": candidate.release_manager, **release, "pending": list(reminder.engineers)}
        owe_thread(session, candidate.id, event, now)
    elif kind == reminders.READY_OPEN:
        owe_dm(session, person, {"event": "ready_open", **release}, now, candidate.id)
    elif kind == reminders.WEEK_END:
        owe_thread(session, candidate.id, {"event": "week_end", **release, "next_open": window.describe(reminder.next_open, now)}, now)
