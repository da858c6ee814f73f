"""Which reminders are due now: one pure function of recorded facts and the clock.

- `pending`: a person who still has changes to verify (their own, or those they verify for
  someone) `pending_after` after the cut gets a direct message, only inside `working_hours` of
  their own time zone, Monday to Friday, at most once per candidate and local day, never while
  away (whoever verifies for them while away is reminded instead).
- `escalate`: `escalate_after` after the cut, the release manager is told once in the thread who
  is still pending (inside the manager's working hours).
- `ready_open`: a candidate that was ready before the release window opened gets one note to its
  release manager per opening.
- `week_end`: a ready candidate still unreleased when the window closes on the last release day
  of the week is noted once in its thread, with the next opening.

Holidays are not special for people: only Saturday and Sunday are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.config import Reminders
from bot.people.away import Away, verifier_while_away
from bot.release.hours import Freeze, ReleaseWindow
from bot.release.model import Candidate, CandidateState

PENDING, ESCALATE, READY_OPEN, WEEK_END = "pending", "escalate", "ready_open", "week_end"
THREAD = ""  # the "person" of a message in the candidate's thread


@dataclass(frozen=True)
class Sent:
    """A reminder's claim: its kind, candidate, person (THREAD for the thread) and day ('' once)."""

    kind: str
    candidate_id: int
    user: str
    day: str


@dataclass(frozen=True)
class Due:
    sent: Sent
    candidate: Candidate
    engineers: tuple[str | None, ...] = ()  # pending: whose changes; escalate: who is pending
    next_open: dt.datetime | None = field(default=None)  # week_end


def due(
    candidates: Iterable[Candidate],
    timezones: Mapping[str, str | None],
    away: Mapping[str, Away],
    sent: set[Sent],
    now: dt.datetime,
    settings: Reminders,
    window: ReleaseWindow,
    freezes: Sequence[Freeze] = (),
) -> list[Due]:
    """Every reminder due at `now` and not yet sent; people without a known time zone are read in
    the release hours' time zone."""
    away_now = {user: plan for user, plan in away.items() if plan.active(now)}
    hours = _Hours(settings, timezones, window.hours.timezone, now)
    found: list[Due] = []
    for candidate in candidates:
        if candidate.state is CandidateState.VERIFYING:
            found += _pending(candidate, away_now, hours, settings, now)
            found += _escalation(candidate, hours, settings, now)
        elif candidate.state is CandidateState.READY:
            found += _ready_notes(candidate, window, freezes, now, away_now)
    return [reminder for reminder in found if reminder.sent not in sent]


class _Hours:
    """Whether a person is inside their working hours now, and their local day (asked once each)."""

    def __init__(self, settings: Reminders, timezones: Mapping[str, str | None], fallback: str, now: dt.datetime):
        self.start, self.end = settings.working_hours
        self.timezones, self.fallback, self.now = timezones, fallback, now
        self._days: dict[str | None, str | None] = {}

    def working_day(self, user: str) -> str | None:
        """The person's local date (ISO) when they are at work now, else None."""
        zone = self.timezones.get(user) or self.fallback
        if zone not in self._days:
            local = self.now.astimezone(ZoneInfo(zone))
            at_work = local.weekday() < 5 and self.start <= local.time() < self.end
            self._days[zone] = local.date().isoformat() if at_work else None
        return self._days[zone]


def _pending(candidate: Candidate, away: Mapping[str, Away], hours: _Hours, settings: Reminders, now) -> list[Due]:
    if now - candidate.created_at < settings.pending_after:
        return []
    owed: dict[str, list[str]] = {}
    for engineer in candidate.pending:
        if engineer.user is None:
            continue  # the release manager verifies them; the escalation names them
        verifier = candidate.verifier_of(engineer.user)
        if verifier in away:
            verifier = verifier_while_away(verifier, away, candidate.release_manager)
        if verifier is None or verifier in away:
            continue
        owed.setdefault(verifier, []).append(engineer.user)
    found = []
    for person, engineers in owed.items():
        day = hours.working_day(person)
        if day is not None:
            found.append(Due(Sent(PENDING, candidate.id, person, day), candidate, tuple(engineers)))
    return found


def _escalation(candidate: Candidate, hours: _Hours, settings: Reminders, now) -> list[Due]:
    if now - candidate.created_at < settings.escalate_after or hours.working_day(candidate.release_manager) is None:
        return []
    return [Due(Sent(ESCALATE, candidate.id, THREAD, ""), candidate, tuple(e.user for e in candidate.pending))]


def ready_since(candidate: Candidate) -> dt.datetime:
    return max([candidate.created_at] + [c.verified_at for c in candidate.changes if c.verified_at])


def _ready_notes(candidate: Candidate, window: ReleaseWindow, freezes: Sequence[Freeze], now, away: Mapping[str, Away]) -> list[Due]:
    local = now.astimezone(window.zone)
    since = ready_since(candidate)
    found = []
    if window.verdict(now, list(freezes), candidate.product).open:
        opening = dt.datetime.combine(local.date(), window.hours.start, window.zone)
        if since < opening and candidate.release_manager not in away:
            found.append(Due(Sent(READY_OPEN, candidate.id, candidate.release_manager, local.date().isoformat()), candidate))
    closed = _closed_for_the_week(window, now)
    if closed is not None and since <= dt.datetime.combine(closed, window.hours.end, window.zone):
        next_open = window.next_opening(now, list(freezes), candidate.product)
        found.append(Due(Sent(WEEK_END, candidate.id, THREAD, closed.isoformat()), candidate, next_open=next_open))
    return found


def _closed_for_the_week(window: ReleaseWindow, now: dt.datetime) -> dt.date | None:
    """The release day whose window closed last, when it was the week's last and none opened since."""
    today = now.astimezone(window.zone).date()
    for back in range(8):
        day = today - dt.timedelta(days=back)
        if window.day_problem(day) is not None:
            continue
        if dt.datetime.combine(day, window.hours.end, window.zone) <= now:
            sunday = day + dt.timedelta(days=6 - day.weekday())
            later = (day + dt.timedelta(days=n) for n in range(1, (sunday - day).days + 1))
            return day if all(window.day_problem(d) is not None for d in later) else None
        if dt.datetime.combine(day, window.hours.start, window.zone) <= now:
            return None  # the window is open now
    return None
