"""The reminder rules as a pure function of facts and the clock: time zones, days, away, once only."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import ReleaseHours, Reminders
from bot.people.away import Away, away_delegations, verifier_while_away
from bot.people.reminders import ESCALATE, PENDING, READY_OPEN, THREAD, WEEK_END, Sent, due
from bot.release.hours import Freeze, ReleaseWindow
from bot.release.manager import Eligible, choose_release_manager
from bot.release.model import Candidate, CandidateState, Change, Trigger

UTC = dt.timezone.utc
WINDOW = ReleaseWindow(ReleaseHours())  # Monday to Thursday, 08:00-16:00 America/New_York, US holidays
SETTINGS = Reminders()  # 3h, 09:00-18:00, 1d
ZONES = {"U0TOKYO": "Asia/Tokyo", "U0LA": "America/Los_Angeles", "U0BERLIN": "Europe/Berlin", "U0NY": "America/New_York", "U0RM": "America/New_York"}


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def candidate(created: dt.datetime, engineers=("U0TOKYO",), verified=(), delegations=None, state=CandidateState.VERIFYING,
              verified_at: dt.datetime | None = None, unmatched: bool = False, cid: int = 1) -> Candidate:
    changes = [
        Change(f"{i:040x}", f"{e}@x", e, f"work {i}", e, "U0RM" if e in verified else None, (verified_at or created) if e in verified else None)
        for i, e in enumerate(engineers)
    ]
    if unmatched:
        changes.append(Change("f" * 40, "ghost@x", "Ghost", "hotfix", None))
    return Candidate(
        id=cid, product="checkout", version="2026.11.16-rc1", state=state, trigger=Trigger.DAILY, release_manager="U0RM",
        head_sha="a" * 40, base_sha=None, created_at=created, created_by=None, changes=tuple(changes),
        delegations=delegations or {},
    )


def reminded(cands, now, away=None, sent=(), freezes=()) -> list[tuple[str, str, str, tuple]]:
    found = due(cands if isinstance(cands, list) else [cands], ZONES, away or {}, set(sent), now, SETTINGS, WINDOW, freezes)
    return [(d.sent.kind, d.sent.user, d.sent.day, d.engineers) for d in found]


# ---------------------------------------------------------------- time zones and days

MONDAY_TOKYO_MORNING = at(2026, 11, 16, 0, 0)  # 09:00 Monday in Tokyo, 16:00 Sunday in Los Angeles


def test_tokyo_is_reminded_in_its_own_working_day_on_both_sides_of_utc_midnight():
    rc = candidate(MONDAY_TOKYO_MORNING, engineers=("U0TOKYO", "U0LA"))
    assert reminded(rc, at(2026, 11, 16, 2, 59)) == []  # before pending_after
    assert reminded(rc, at(2026, 11, 16, 3, 0)) == [(PENDING, "U0TOKYO", "2026-11-16", ("U0TOKYO",))]  # 12:00 Tokyo; Sunday in LA
    assert reminded(rc, at(2026, 11, 16, 9, 0)) == []  # 18:00 Tokyo, 01:00 in LA
    # 23:30 UTC Monday: 08:30 Tuesday in Tokyo (too early), 15:30 Monday in Los Angeles
    assert reminded(rc, at(2026, 11, 16, 23, 30)) == [(PENDING, "U0LA", "2026-11-16", ("U0LA",))]
    # 00:30 UTC Tuesday: 09:30 Tuesday in Tokyo, a new local day; still Monday 16:30 in Los Angeles
    sent = [Sent(PENDING, 1, "U0TOKYO", "2026-11-16"), Sent(PENDING, 1, "U0LA", "2026-11-16")]
    assert reminded(rc, at(2026, 11, 17, 0, 30), sent=sent) == [(PENDING, "U0TOKYO", "2026-11-17", ("U0TOKYO",))]


def test_only_monday_to_friday_of_the_persons_own_week():
    rc = candidate(at(2026, 11, 20, 0, 0), engineers=("U0TOKYO", "U0LA"))
    # Saturday 01:00 UTC: Friday 17:00 in Los Angeles, Saturday 10:00 in Tokyo
    assert reminded(rc, at(2026, 11, 21, 1, 0)) == [(PENDING, "U0LA", "2026-11-20", ("U0LA",))]
    assert reminded(rc, at(2026, 11, 22, 3, 0)) == []  # Sunday everywhere that matters
    # Monday 00:30 UTC: Monday 09:30 in Tokyo, Sunday 16:30 in Los Angeles
    assert [r[1] for r in reminded(rc, at(2026, 11, 23, 0, 30))] == ["U0TOKYO"]


def test_holidays_are_not_special_for_people():
    rc = candidate(at(2026, 11, 26, 5, 0), engineers=("U0NY",))
    assert reminded(rc, at(2026, 11, 26, 15, 0)) == [(PENDING, "U0NY", "2026-11-26", ("U0NY",))]  # Thanksgiving, 10:00 EST


@pytest.mark.parametrize(
    ("person", "before", "after", "instant"),
    [
        # Berlin moves to CEST on Sunday March 29: 07:30 UTC is 08:30 the Monday before, 09:30 the Monday after
        ("U0BERLIN", at(2026, 3, 23, 7, 30), at(2026, 3, 30, 7, 30), None),
        # Los Angeles moves back to PST on Sunday November 1: 16:30 UTC is 09:30 before, 08:30 after
        ("U0LA", at(2026, 11, 2, 16, 30), at(2026, 10, 26, 16, 30), None),
    ],
)
def test_working_hours_follow_the_dst_switch(person, before, after, instant):
    for now, expected in ((before, []), (after, [person])):
        rc = candidate(now - dt.timedelta(hours=4), engineers=(person,))
        assert [r[1] for r in reminded(rc, now)] == expected


def test_dst_switch_days_themselves_are_sundays_and_quiet_and_the_next_day_starts_at_local_nine():
    rc = candidate(at(2026, 3, 27, 8, 0), engineers=("U0BERLIN",))
    assert reminded(rc, at(2026, 3, 29, 9, 0)) == []  # the switch day, a Sunday
    assert reminded(rc, at(2026, 3, 30, 6, 59)) == []  # 08:59 CEST
    assert reminded(rc, at(2026, 3, 30, 7, 0)) == [(PENDING, "U0BERLIN", "2026-03-30", ("U0BERLIN",))]


def test_someone_without_a_known_time_zone_is_read_in_the_release_hours_zone():
    rc = candidate(at(2026, 11, 16, 9, 0), engineers=("U0NOBODY",))
    assert reminded(rc, at(2026, 11, 16, 13, 59)) == []  # 08:59 EST
    assert reminded(rc, at(2026, 11, 16, 14, 0)) == [(PENDING, "U0NOBODY", "2026-11-16", ("U0NOBODY",))]


# ---------------------------------------------------------------- who is reminded, and how often

NOW = at(2026, 11, 16, 16, 0)  # Monday 11:00 in New York
CUT = NOW - dt.timedelta(hours=4)


def away(user, delegate=None, until=NOW + dt.timedelta(days=3)) -> Away:
    return Away(user, until, delegate, NOW - dt.timedelta(days=1))


def test_verified_in_the_meantime_means_no_reminder():
    done = candidate(CUT, engineers=("U0NY",), verified=("U0NY",), state=CandidateState.READY)
    assert [r for r in reminded(done, NOW) if r[0] == PENDING] == []
    rc = candidate(CUT, engineers=("U0NY", "U0BERLIN"), verified=("U0BERLIN",))
    assert [r[1] for r in reminded(rc, NOW)] == ["U0NY"]


def test_never_twice_a_day_then_again_the_next_working_day():
    rc = candidate(CUT, engineers=("U0NY",))
    sent = [Sent(PENDING, 1, "U0NY", "2026-11-16")]
    assert reminded(rc, NOW + dt.timedelta(hours=5), sent=sent) == []
    assert reminded(rc, NOW + dt.timedelta(days=1), sent=sent)[0][:3] == (PENDING, "U0NY", "2026-11-17")


def test_an_away_engineer_is_never_reminded_their_delegate_is():
    rc = candidate(CUT, engineers=("U0NY", "U0BERLIN"))
    found = reminded(rc, NOW, away={"U0NY": away("U0NY", delegate="U0BERLIN")})
    assert found == [(PENDING, "U0BERLIN", "2026-11-16", ("U0NY", "U0BERLIN"))]  # one message for both


def test_an_away_engineer_without_a_delegate_leaves_it_to_the_release_manager():
    rc = candidate(CUT, engineers=("U0NY",))
    assert reminded(rc, NOW, away={"U0NY": away("U0NY")}) == [(PENDING, "U0RM", "2026-11-16", ("U0NY",))]
    # a delegate who is away too passes it to the release manager; a release manager away: nobody
    both = {"U0NY": away("U0NY", "U0LA"), "U0LA": away("U0LA")}
    assert reminded(rc, NOW, away=both)[0][1] == "U0RM"
    assert reminded(rc, NOW, away={"U0NY": away("U0NY"), "U0RM": away("U0RM")}) == []


def test_an_absence_that_is_over_counts_for_nothing_and_a_delegation_is_reminded():
    rc = candidate(CUT, engineers=("U0NY",))
    assert reminded(rc, NOW, away={"U0NY": away("U0NY", until=NOW)})[0][1] == "U0NY"
    delegated = candidate(CUT, engineers=("U0NY",), delegations={"U0NY": "U0BERLIN"})
    assert reminded(delegated, NOW)[0][1] == "U0BERLIN"  # 17:00 in Berlin


def test_the_release_manager_is_told_once_after_escalate_after():
    rc = candidate(NOW - dt.timedelta(hours=23), engineers=("U0TOKYO",), unmatched=True)
    assert [r[0] for r in reminded(rc, NOW)] == []  # Tokyo is asleep, and it is not a day yet
    later = NOW + dt.timedelta(hours=1)
    assert reminded(rc, later) == [(ESCALATE, THREAD, "", ("U0TOKYO", None))]
    assert reminded(rc, later + dt.timedelta(hours=2), sent=[Sent(ESCALATE, 1, THREAD, "")]) == []
    assert reminded(rc, at(2026, 11, 21, 16, 0)) == []  # Saturday: the manager's day off


# ---------------------------------------------------------------- ready candidates and the release window

READY_MONDAY_EVENING = at(2026, 11, 16, 22, 0)


def ready(verified_at=READY_MONDAY_EVENING, created=at(2026, 11, 16, 14, 0)) -> Candidate:
    return candidate(created, engineers=("U0NY",), verified=("U0NY",), state=CandidateState.READY, verified_at=verified_at)


def test_a_ready_candidate_gets_one_note_when_the_window_opens():
    assert reminded(ready(), at(2026, 11, 17, 12, 59)) == []  # 07:59 EST
    opening = at(2026, 11, 17, 13, 0)
    assert reminded(ready(), opening) == [(READY_OPEN, "U0RM", "2026-11-17", ())]
    assert reminded(ready(), opening + dt.timedelta(hours=2), sent=[Sent(READY_OPEN, 1, "U0RM", "2026-11-17")]) == []
    # ready only after the window opened: the "is ready" message said so already
    assert reminded(ready(verified_at=at(2026, 11, 17, 14, 0)), at(2026, 11, 17, 15, 0)) == []


def test_no_opening_note_during_a_freeze_or_to_an_away_manager():
    freeze = Freeze(1, "all", at(2026, 11, 17, 0, 0), at(2026, 11, 18, 0, 0), "peak", "U0ADMIN")
    assert reminded(ready(), at(2026, 11, 17, 13, 0), freezes=[freeze]) == []
    assert reminded(ready(), at(2026, 11, 17, 13, 0), away={"U0RM": away("U0RM")}) == []


def test_a_ready_candidate_unreleased_when_the_week_closes_is_noted_with_the_next_opening():
    assert reminded(ready(), at(2026, 11, 18, 21, 30)) == []  # Wednesday: not the week's last release day
    found = due([ready()], ZONES, {}, set(), at(2026, 11, 19, 21, 0), SETTINGS, WINDOW)
    assert [(d.sent.kind, d.sent.user, d.sent.day) for d in found] == [(WEEK_END, THREAD, "2026-11-19")]
    assert found[0].next_open == at(2026, 11, 23, 13, 0)  # Monday 08:00 EST
    # a bot that was down at the close notes it when it comes back, once
    assert reminded(ready(), at(2026, 11, 20, 15, 0))[0][:3] == (WEEK_END, THREAD, "2026-11-19")
    assert reminded(ready(), at(2026, 11, 20, 15, 0), sent=[Sent(WEEK_END, 1, THREAD, "2026-11-19")]) == []
    # ready only after the close: nothing to note
    assert reminded(ready(verified_at=at(2026, 11, 20, 1, 0)), at(2026, 11, 20, 15, 0)) == []


def test_the_week_ends_early_before_a_holiday():
    rc = ready(verified_at=at(2026, 11, 23, 22, 0), created=at(2026, 11, 23, 14, 0))
    found = due([rc], ZONES, {}, set(), at(2026, 11, 24, 21, 30), SETTINGS, WINDOW)  # Tuesday; Wednesday is before Thanksgiving
    assert [(d.sent.kind, d.sent.day) for d in found] == [(WEEK_END, "2026-11-24")]
    assert found[0].next_open == at(2026, 11, 30, 13, 0)


# ---------------------------------------------------------------- away: the cut's rules


def test_away_engineers_are_never_picked_and_their_changes_go_to_the_delegate_or_the_manager():
    import random

    engineers = [Eligible("U0A", "America/New_York", away=True), Eligible("U0B", "Europe/Berlin")]
    for seed in range(20):
        assert choose_release_manager(engineers, "America/New_York", {}, random.Random(seed)).user == "U0B"
    assert choose_release_manager([Eligible("U0A", None, away=True)], "America/New_York", {}, random.Random(1)) is None
    plans = {"U0A": away("U0A", "U0C"), "U0B": away("U0B"), "U0M": away("U0M")}
    assert away_delegations(["U0A", "U0B", "U0D"], plans, "U0RM") == {"U0A": "U0C", "U0B": "U0RM"}
    assert verifier_while_away("U0M", plans, "U0M") is None  # away, yet cut by hand: their own
