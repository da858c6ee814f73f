"""/rc away and the reminders job end to end: the real bot over HTTP, the emulator, both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest

from bot.config import ConfigError, load_config
from bot.scheduler import run_job
from tests.test_candidates import MONDAY, checkout_settings, commits_by_the_team, rc, repo, team  # noqa: F401 (fixtures)
from tests.test_slack_door import wait_for

UTC = dt.timezone.utc
TUESDAY_OPEN = dt.datetime(2026, 11, 17, 14, 0, tzinfo=UTC)  # 09:00 in New York, 15:00 in Berlin


def remind(rc) -> str:
    summary = asyncio.run(run_job(rc.runtime, "reminders"))
    rc.settled()
    return summary


def dm_texts(rc, user: str) -> list[str]:
    return [m["text"] for m in rc.fake.dms(user)]


def test_away_refuses_what_cannot_work_and_shows_your_status(rc):
    assert "You are not away" in rc.command("away", "U0ERIN", channel="C0RANDOM")
    assert "already passed; an absence must end in the future" in rc.command("away 2026-11-01", "U0ERIN")
    assert "could not read `someday` as the end of the absence" in rc.command("away someday", "U0ERIN")
    assert "is a bot" in rc.command("away 3d <@U0CIBOT|ci>", "U0ERIN")
    assert "is a bot or a deactivated account" in rc.command("away 3d <@U0GONE|gone>", "U0ERIN")
    assert "other than yourself" in rc.command("away 3d <@U0ERIN|erin>", "U0ERIN")
    assert "Name the delegate as a mention" in rc.command("away 3d lead", "U0ERIN")
    assert "You are not away" in rc.command("away end", "U0ERIN")
    # a date is read in the person's own time zone: through November 20 in Berlin
    answer = rc.command("away 2026-11-20 <@U0DANA|dana>", "U0LEAD", channel="C0RANDOM")
    assert "You are away until Saturday November 21 2026 00:00 CET; <@U0DANA> verifies" in answer
    assert "until Saturday November 21 2026 00:00 CET" in rc.command("away", "U0LEAD")
    assert "Welcome back" in rc.command("away end", "U0LEAD")
    assert "You are not away" in rc.command("away", "U0LEAD")


def test_away_people_are_not_picked_and_their_changes_go_to_the_delegate_or_the_manager(rc):
    assert "<@U0ADMIN> verifies" in rc.command("away 2026-11-20 17:00 <@U0ADMIN|admin>", "U0ERIN")
    assert "the release manager verifies" in rc.command("away 2d", "U0DANA")
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    [candidate] = rc.api()
    assert candidate["release_manager"] == "U0LEAD"  # the two New Yorkers are away
    delegates = {e["user"]: e["delegate"] for e in candidate["engineers"]}
    assert delegates["U0ERIN"] == "U0ADMIN" and delegates["U0DANA"] == "U0LEAD"
    notice = str(rc.notice()["blocks"])
    assert "<@U0ERIN> (away; verified for them by <@U0ADMIN>)" in notice
    assert "<@U0DANA> (away; verified for them by <@U0LEAD>)" in notice
    assert "Away at the cut, so verified for them: <@U0LEAD> for <@U0DANA>, <@U0ADMIN> for <@U0ERIN>." in rc.thread_texts(rc.notice())
    [told] = [m for m in rc.fake.dms("U0ADMIN") if "is away until" in m["text"]]
    assert "<@U0ERIN> is away until Friday November 20 2026 17:00 EST" in told["text"] and "Erin's feature" in told["text"]
    # the DM's own "Verified" button works, without the channel message
    answer = rc.click("U0ADMIN", "rc_verify", channel_id="D0ADMIN")
    assert "(including 1 delegated to you)" in answer
    assert {e["user"]: e["state"] for e in rc.api()[0]["engineers"]}["U0ERIN"] == "verified"
    # back again: the next candidate asks Erin herself
    assert "Welcome back" in rc.command("away end", "U0ERIN")
    rc.repo.commit("Erin's second feature", "erin@example.com", when=MONDAY)
    rc.command("cut urgent the second feature is needed", "U0LEAD")
    assert {e["user"]: e["delegate"] for e in rc.api()[0]["engineers"]}["U0ERIN"] is None


def test_pending_engineers_are_reminded_in_their_own_working_hours_once_a_day_then_the_manager(rc):
    commits_by_the_team(rc.repo)
    rc.daily()  # Tuesday 09:00 in New York
    rc.settled()
    manager = rc.api()[0]["release_manager"]
    other = "U0ERIN" if manager == "U0DANA" else "U0DANA"
    rc.runtime.clock.set(TUESDAY_OPEN + dt.timedelta(hours=2, minutes=59))
    assert remind(rc) == "sent 0 reminders and notes"  # not yet 3h
    rc.runtime.clock.set(TUESDAY_OPEN + dt.timedelta(hours=3))  # 12:00 in New York, 18:00 in Berlin
    before = rc.fake.calls("chat.postMessage")
    assert remind(rc) == "sent 2 reminders and notes"
    [reminder] = [m for m in rc.fake.dms(other) if m["text"].startswith("Reminder:")]
    assert "*Checkout 2026.11.17-rc1* still waits for your changes" in reminder["text"]
    assert not [t for t in dm_texts(rc, "U0LEAD") if t.startswith("Reminder:")]  # after hours in Berlin
    assert any(t.startswith("Reminder:") for t in dm_texts(rc, manager))
    assert len(rc.fake.calls("chat.postMessage")) - len(before) == 2

    assert "is recorded" in rc.click(other, "rc_verify", channel_id="D" + other[1:])  # from the reminder itself
    rc.runtime.clock.set(TUESDAY_OPEN + dt.timedelta(hours=6))
    assert remind(rc) == "sent 0 reminders and notes"  # never twice a day

    rc.runtime.clock.set(dt.datetime(2026, 11, 18, 8, 0, tzinfo=UTC))  # Wednesday 09:00 in Berlin, 03:00 in New York
    assert remind(rc) == "sent 1 reminders and notes"
    assert [t for t in dm_texts(rc, "U0LEAD") if t.startswith("Reminder:")]

    rc.runtime.clock.set(dt.datetime(2026, 11, 18, 15, 0, tzinfo=UTC))  # a day after the cut, 10:00 for the manager
    assert remind(rc) == "sent 2 reminders and notes"  # the manager's second day, and the escalation
    escalations = [t for t in rc.thread_texts(rc.notice()) if "is still waiting for" in t]
    [escalation] = escalations
    assert escalation.startswith(f"<@{manager}>: 2026.11.17-rc1 is still waiting for ")
    assert f"<@{manager}>, " in escalation and "<@U0LEAD>" in escalation and escalation.endswith("authors without a Slack account.")
    assert f"<@{other}>" not in escalation.split(":", 1)[1]
    rc.runtime.clock.set(dt.datetime(2026, 11, 18, 16, 0, tzinfo=UTC))
    assert remind(rc) == "sent 0 reminders and notes"


def test_replicas_running_the_round_at_once_send_each_reminder_once(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    rc.runtime.clock.set(TUESDAY_OPEN + dt.timedelta(hours=3))
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(asyncio.run(run_job(rc.runtime, "reminders")))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rc.settled()
    assert sorted(results)[-1] == "sent 2 reminders and notes" and sum(int(r.split()[1]) for r in results) == 2
    reminders = [m for user in ("U0DANA", "U0ERIN", "U0LEAD") for m in rc.fake.dms(user) if m["text"].startswith("Reminder:")]
    assert len(reminders) == 2


def test_a_ready_candidate_gets_a_note_at_the_opening_and_one_when_the_week_closes(rc):
    rc.runtime.clock.set(dt.datetime(2026, 11, 16, 21, 0, tzinfo=UTC))  # Monday 16:00 in New York
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    manager = rc.api()[0]["release_manager"]
    for user in {"U0DANA", "U0LEAD", "U0ERIN"}:
        rc.click(user, "rc_verify")
    rc.settled()
    assert rc.api()[0]["state"] == "ready"
    rc.runtime.clock.set(dt.datetime(2026, 11, 17, 13, 0, tzinfo=UTC))  # Tuesday 08:00: the window opens
    assert remind(rc) == "sent 1 reminders and notes"
    assert "The release window is open and *Checkout 2026.11.16-rc1* is ready" in dm_texts(rc, manager)[-1]
    rc.runtime.clock.set(dt.datetime(2026, 11, 17, 15, 0, tzinfo=UTC))
    assert remind(rc) == "sent 0 reminders and notes"
    rc.runtime.clock.set(dt.datetime(2026, 11, 19, 21, 1, tzinfo=UTC))  # Thursday 16:01: closed for the week
    assert remind(rc) == "sent 1 reminders and notes"
    note = rc.thread_texts(rc.notice())[-1]
    assert note == (
        "The release window has closed for the week with 2026.11.16-rc1 ready but not released. "
        "Next opening: Monday 08:00 EST."
    )
    assert remind(rc) == "sent 0 reminders and notes"


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("reminders:\n  pending_after: 3 hours\n", "reminders.pending_after: '3 hours' is not a duration; write it like 30s, 10m, 3h or 2d"),
        ('reminders:\n  working_hours: ["18:00", "09:00"]\n', "reminders.working_hours: the end must be later than the start"),
        ('reminders:\n  working_hours: ["09:00"]\n', "reminders.working_hours"),
        ("reminders:\n  escalate_after: 0d\n", "reminders.escalate_after"),
    ],
)
def test_check_config_validates_reminders(tmp_path, section, problem):
    path = tmp_path / "releasebot.yml"
    path.write_text(section)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert problem in str(error.value)


def test_reminder_durations_load(tmp_path):
    path = tmp_path / "releasebot.yml"
    path.write_text('reminders:\n  pending_after: 30s\n  escalate_after: 2d\n  working_hours: ["08:30", "17:00"]\n')
    settings = load_config(path).reminders
    assert settings.pending_after == dt.timedelta(seconds=30) and settings.escalate_after == dt.timedelta(days=2)
    assert settings.working_hours == [dt.time(8, 30), dt.time(17, 0)]
