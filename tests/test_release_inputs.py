"""Releases against odd input: freezes without a practical end, reasons too long for a button, a
deploy hook that redirects, and a non-viable report that arrives while a release is under way."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

import storage.freezes
from tests.test_candidates import rc, repo, team  # noqa: F401 (fixtures)
from tests.test_releases import checkout_settings, gate, hook, ready_candidate, releases  # noqa: F401 (fixtures)
from tests.test_slack_door import wait_for

UTC = dt.timezone.utc


def exception_button(refusal: dict) -> dict:
    [button] = [e for b in refusal["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return button


def release_with_exception(rc, user: str, note: str) -> None:
    rc.slack.block_action(user, "rc_release_exception")
    wait_for(lambda: rc.fake.views(user=user))
    answer = rc.slack.view_submission(
        user, "rc_exception_view",
        {
            "rc_exception_kind": {"kind": {"type": "radio_buttons", "selected_option": {"value": "urgent_delivery"}}},
            "rc_exception_note": {"note": note},
        },
    )
    assert answer.status_code == 200


def test_a_freeze_until_the_year_9999_is_refused_and_one_stored_anyway_breaks_nothing(rc):
    ready_candidate(rc)
    refusal = rc.command_of("/freeze", "start 9999-12-30 forever all", "U0ADMIN")
    assert "A freeze lasts at most 366 days" in refusal
    assert "A freeze lasts at most 366 days" in rc.command_of("/freeze", "start 99999d forever all", "U0ADMIN")
    assert gate(rc)["open"] is True
    now = rc.runtime.clock.now()
    with rc.runtime.db.transaction() as session:  # stored before the limit existed
        storage.freezes.start(session, "all", now, dt.datetime(9999, 12, 31, tzinfo=UTC), "forever", "U0ADMIN")
    assert gate(rc) == {
        "open": False,
        "reasons": ["change freeze until Thursday 19:00 EST: forever"],
        "next_open": "9999-12-31T00:00:00+00:00",
    }
    refusal = rc.private_answer("U0DANA", lambda: rc.slack.command("/rc", "release", user_id="U0DANA"))
    assert "Next opening: Thursday December 30 9999 19:00 EST" in refusal["text"]
    assert exception_button(refusal)["text"]["text"] == "Release with an exception"
    release_with_exception(rc, "U0DANA", "the freeze was a mistake")
    wait_for(lambda: rc.api()[0]["state"] == "released")
    assert releases(rc)[0]["exception"] == "urgent_delivery"


def test_a_long_reason_full_of_quoted_characters_still_fits_the_exception_button(rc):
    ready_candidate(rc, verified=False)
    rc.runtime.clock.set(dt.datetime(2026, 11, 20, 23, 0, tzinfo=UTC))  # Friday evening: closed
    reason = 'the "fix" is verified' + "\x01" * 1000  # JSON writes each \x01 as \u0001, six characters
    refusal = rc.private_answer("U0ADMIN", lambda: rc.slack.command("/rc", f"release {reason}", user_id="U0ADMIN"))
    value = exception_button(refusal)["value"]
    assert len(value) <= 2000
    release_with_exception(rc, "U0ADMIN", "the pipeline is safe")
    wait_for(lambda: rc.api()[0]["state"] == "released")
    recorded = releases(rc)[0]["pending_reason"]
    assert recorded.startswith('the "fix" is verified\x01') and recorded.endswith("…")


def test_a_redirecting_hook_is_a_failure_not_a_release(rc, hook):
    ready_candidate(rc)
    for status in (301, 302, 307, 308):
        hook.fail_with = [status]
        answer = rc.command("release", "U0DANA")
        assert f"The deploy hook failed (HTTP {status} (a redirect" in answer and "was not released" in answer
    assert len(hook.requests) == 4  # not followed, not retried
    assert rc.api()[0]["state"] == "ready" and releases(rc) == []


def test_each_hook_delivery_is_signed_with_its_time_and_a_unique_id(rc, hook):
    ready_candidate(rc)
    hook.fail_with = [403]
    rc.command("release", "U0DANA")
    assert "Released" in rc.command("release", "U0DANA")
    first, second = hook.requests
    for call in (first, second):
        assert call["json"]["timestamp"] == int(rc.runtime.clock.now().timestamp())
        assert call["headers"]["X-Releasebot-Timestamp"] == str(call["json"]["timestamp"])
        assert call["headers"]["X-Releasebot-Delivery"] == call["json"]["delivery_id"]
    assert first["json"]["delivery_id"] != second["json"]["delivery_id"] and len(first["json"]["delivery_id"]) == 32


def release_in_flight(rc, hook) -> tuple[threading.Thread, list[str]]:
    """`/rc release` with the deploy hook holding its answer until the test lets it go."""
    hook.answer.clear()
    answers: list[str] = []
    thread = threading.Thread(target=lambda: answers.append(rc.command("release", "U0DANA")))
    thread.start()
    assert hook.arrived.wait(timeout=10)
    return thread, answers


@pytest.mark.parametrize("hook_answer", [200, 403])
def test_a_non_viable_report_during_a_release_is_refused_never_overwritten(rc, hook, hook_answer):
    ready_candidate(rc)
    hook.fail_with = [hook_answer]
    thread, answers = release_in_flight(rc, hook)
    under_way = "A release of 2026.11.17-rc1 is under way; declare it non-viable after it finishes or fails."
    assert under_way in rc.command("nonviable checkout crashes", "U0LEAD")
    assert under_way in rc.click("U0LEAD", "rc_nonviable")  # the button, before the form opens
    assert rc.fake.views(user="U0LEAD") == []
    hook.answer.set()
    thread.join(timeout=10)
    assert rc.api()[0]["state"] == ("released" if hook_answer == 200 else "ready")
    if hook_answer == 200:
        assert "Released" in answers[0] and "has no candidate in progress" in rc.command("nonviable crashes", "U0LEAD")
    else:
        assert "The deploy hook failed" in answers[0]
        assert "marked not viable" in rc.command("nonviable checkout crashes", "U0LEAD")
        assert rc.api()[0]["state"] == "non_viable"
