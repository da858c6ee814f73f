"""Nothing a user types or commits pings anyone or disguises a link, on any surface: the bot over
HTTP against the emulator, with hostile text in every free-text field."""

from __future__ import annotations

import json

import pytest

import storage.outbox as outbox
from bot.errors import Refused
from bot.release import service
from bot.slack.blocks import events
from bot.slack.blocks.text import refusal_text
from tests.test_candidates import MONDAY, Rig, checkout_settings, rc, repo, team  # noqa: F401 (fixtures)
from tests.test_releases import FRIDAY_EVENING
from tests.test_slack_door import wait_for

HOSTILE = "<!channel> <@U0ADMIN> <https://evil.example|bank> & done"
INERT = "&lt;!channel&gt; &lt;@U0ADMIN&gt; &lt;https://evil.example|bank&gt; &amp; done"
POSTING = {"chat_postMessage", "chat_update", "chat_postEphemeral", "views_open", "views_update", "views_publish", "response_url"}


def sent(rc: Rig) -> str:
    """Everything the bot posted to the emulator, as one string."""
    return json.dumps([call["params"] for call in rc.fake.calls() if call["method"].replace(".", "_") in POSTING], ensure_ascii=False)


def assert_inert(text: str) -> None:
    assert "<!channel>" not in text and "<@U0ADMIN>" not in text and "<https://" not in text, text


def candidate_by_dana(rc: Rig, subject: str = "Add the basket total") -> dict:
    rc.repo.commit(subject, "dana@example.com", when=MONDAY)
    rc.daily("checkout")
    rc.settled()
    assert rc.api()[0]["release_manager"] == "U0DANA"
    return rc.notice()


def replies(rc: Rig, notice: dict, words: str) -> list[str]:
    return [text for text in rc.thread_texts(notice) if words in text]


def test_a_non_viable_reason_and_next_steps_are_inert_in_the_thread_and_the_notice(rc):
    notice = candidate_by_dana(rc)
    rc.command(f"nonviable {HOSTILE} next: {HOSTILE}", "U0DANA")
    rc.settled()
    [told] = replies(rc, notice, "*not viable*")
    assert f"*Why:* {INERT}\n*Next:* {INERT}" in told
    assert INERT in json.dumps(rc.notice()["blocks"], ensure_ascii=False)
    assert_inert(sent(rc))


def test_a_non_viable_reason_from_the_modal_is_inert(rc):
    notice = candidate_by_dana(rc)
    rc.slack.block_action("U0DANA", "rc_nonviable")
    wait_for(lambda: rc.fake.views(user="U0DANA"))
    rc.slack.view_submission("U0DANA", "rc_nonviable_view", {"rc_nonviable_reason": {"reason": HOSTILE}, "rc_nonviable_next": {"next_steps": ""}})
    rc.settled()
    assert INERT in replies(rc, notice, "*not viable*")[0]
    assert_inert(sent(rc))


def test_an_urgent_cut_reason_is_inert_in_the_old_thread_the_dms_and_the_new_notice(rc):
    old = candidate_by_dana(rc)
    rc.repo.commit("Fix rounding", "lead@example.com", when=MONDAY)
    rc.command(f"cut urgent {HOSTILE}", "U0LEAD")
    rc.settled()
    assert f"(urgent: {INERT})" in replies(rc, old, "Superseded by")[0]
    assert INERT in rc.fake.dms("U0DANA")[-1]["text"]
    assert f"Urgent: {INERT}" in json.dumps(rc.notice()["blocks"], ensure_ascii=False)
    assert_inert(sent(rc))


def test_a_release_reason_for_pending_verifications_is_inert_in_the_announcement(rc):
    rc.repo.commit("Fix rounding", "lead@example.com", when=MONDAY)
    notice = candidate_by_dana(rc)
    assert "Released Checkout" in rc.command(f"release {HOSTILE}", "U0LEAD")
    rc.settled()
    [announcement] = replies(rc, notice, "released *Checkout")
    assert f"*Released with pending verifications* (<@U0LEAD>, <@U0DANA>): {INERT}" in announcement
    assert INERT in rc.command("history", "U0DANA")
    assert_inert(sent(rc))


def test_an_exception_note_is_inert_in_the_announcement(rc):
    notice = candidate_by_dana(rc)
    rc.click("U0DANA", "rc_verify")
    rc.runtime.clock.set(FRIDAY_EVENING)
    rc.private_answer("U0DANA", lambda: rc.slack.command("/rc", "release", user_id="U0DANA"))
    rc.slack.block_action("U0DANA", "rc_release_exception")
    wait_for(lambda: rc.fake.views(user="U0DANA"))
    rc.slack.view_submission(
        "U0DANA", "rc_exception_view",
        {
            "rc_exception_kind": {"kind": {"type": "radio_buttons", "selected_option": {"value": "production_down"}}},
            "rc_exception_note": {"note": HOSTILE},
        },
    )
    wait_for(lambda: rc.api()[0]["state"] == "released")
    rc.settled()
    assert f"*Exception:* Production is down. {INERT}" in replies(rc, notice, "released *Checkout")[0]
    assert_inert(sent(rc))


def test_a_freeze_reason_is_inert_in_the_announcements_the_status_and_the_refusal(rc):
    candidate_by_dana(rc)
    rc.click("U0DANA", "rc_verify")
    assert "Frozen until" in rc.command_of("/freeze", f"start 3d {HOSTILE}", "U0LEAD")
    rc.settled()
    assert f"froze changes to Checkout until" in rc.fake.messages("C0CHECKOUT")[-1]["text"]
    assert INERT in rc.fake.messages("C0CHECKOUT")[-1]["text"]
    assert INERT in rc.command_of("/freeze", "status", "U0DANA")
    refusal = rc.command("release", "U0DANA")
    assert "cannot be released now" in refusal and INERT in refusal
    rc.command_of("/freeze", "end", "U0LEAD")
    rc.settled()
    ended = rc.fake.messages("C0CHECKOUT")[-1]["text"]
    assert "ended the change freeze for Checkout" in ended and f"({INERT})" in ended
    assert_inert(sent(rc))


def test_a_flag_description_is_inert_in_show_the_announcement_and_the_approval_request(rc):
    rc.command_of("/flag", f"create pay-v2 release {HOSTILE}", "U0DANA")
    assert INERT in rc.command_of("/flag", "show pay-v2", "U0ERIN")
    rc.command_of("/flag", "rollout pay-v2 20% production", "U0ERIN")
    rc.settled()
    created, request = rc.fake.messages("C0FLAGS")[-2:]
    assert "created the release flag `pay-v2`" in created["text"] and INERT in created["text"]
    assert "asks to roll out to 20%" in request["text"] and INERT in request["text"]
    assert INERT in request["blocks"][0]["text"]["text"] and request["blocks"][1]["type"] == "actions"
    assert_inert(sent(rc))


def test_a_commit_subject_and_author_name_are_inert_in_the_notice_and_the_delegation_dm(rc):
    rc.repo.commit("Fix rounding", "lead@example.com", name="Lead & Co", when=MONDAY)
    rc.repo.commit(HOSTILE, "ghost@example.com", name="Mallory & Co", when=MONDAY)
    notice = candidate_by_dana(rc, subject=HOSTILE)
    blocks = json.dumps(notice["blocks"], ensure_ascii=False)
    assert INERT in blocks and "Mallory &amp; Co" in blocks
    rc.click("U0LEAD", "rc_delegate", selected_user="U0ERIN")
    rc.click("U0DANA", "rc_delegate", selected_user="U0ERIN")
    rc.settled()
    assert INERT in rc.fake.dms("U0ERIN")[-1]["text"]
    assert_inert(sent(rc))


@pytest.mark.parametrize(
    "command, text, answer",
    [
        ("/rc", HOSTILE, "I did not understand `/rc &lt;!channel&gt;"),
        ("/flag", HOSTILE, "I did not understand `/flag &lt;!channel&gt;"),
        ("/freeze", HOSTILE, "I did not understand `/freeze &lt;!channel&gt;"),
        ("/rc", f"cut {HOSTILE}", "I did not understand `&lt;!channel&gt;"),
        ("/flag", "on <!channel>", "There is no flag `&lt;!channel&gt;`"),
        ("/flag", "history <@U0ADMIN>", "There is no flag `&lt;@U0ADMIN&gt;`"),
        ("/flag", "create <https://evil.example|bank>", "`&lt;https://evil.example|bank&gt;` is not a flag key"),
        ("/flag", f"on the-flag {HOSTILE}", "I did not understand `&lt;!channel&gt;"),
        ("/freeze", f"start {HOSTILE}", "I could not read `&lt;!channel&gt;`"),
        ("/freeze", "end <!channel>", "I don't know the product `&lt;!channel&gt;`"),
    ],
)
def test_typed_text_echoed_back_is_inert(rc, command, text, answer):
    rc.command_of("/flag", "create the-flag", "U0DANA")
    reply = rc._answer("U0LEAD", lambda: rc.slack.command(command, text, user_id="U0LEAD", channel_id="C0CHECKOUT"))
    assert answer in reply, reply
    assert_inert(reply)
    assert_inert(sent(rc))


def test_messages_owed_before_the_upgrade_still_go_out_and_an_unknown_event_does_not_block_its_lane(rc):
    notice = candidate_by_dana(rc)
    now = rc.runtime.clock.now()
    candidate_id = rc.api()[0]["id"]
    with rc.runtime.db.transaction() as session:
        lane = service.notice_lane(candidate_id)
        outbox.enqueue(session, lane, "thread", {"text": "Composed by *the old code* for <@U0DANA>.", "broadcast": False}, now, candidate_id)
        outbox.enqueue(session, lane, "thread", {"event": "from_a_newer_version", "broadcast": False}, now, candidate_id)
        outbox.enqueue(session, lane, "thread", {"event": "ready", "broadcast": False}, now, candidate_id)
        outbox.enqueue(session, "dm:U0DANA", "dm", {"user": "U0DANA", "text": "An old DM for <@U0DANA>."}, now)
        outbox.enqueue(session, "channel:C0FLAGS", "channel", {"channel": "C0FLAGS", "text": "An old announcement.", "request_id": None}, now)
    rc.runtime.wake_delivery()
    rc.settled()
    texts = rc.thread_texts(notice)
    assert texts[-2:] == ["Composed by *the old code* for <@U0DANA>.", "Every change is verified: the candidate is ready for production."]
    assert rc.fake.dms("U0DANA")[-1]["text"] == "An old DM for <@U0DANA>."
    assert rc.fake.messages("C0FLAGS")[-1]["text"] == "An old announcement."


# ---------------------------------------------------------------- the renderers alone

PAIRS = [["abc1234", HOSTILE]]
SAMPLES = {
    "cut": {"by": "U0DANA", "daily": False, "manager": "U0LEAD", "choice": HOSTILE},
    "release_manager": {"product": HOSTILE, "version": HOSTILE, "handed_over": True},
    "superseded": {"by": "U0LEAD", "successor": HOSTILE, "reason": HOSTILE, "carried": 2},
    "urgent_cut": {"by": "U0LEAD", "product": HOSTILE, "version": "v2", "replaces": "v1", "reason": HOSTILE},
    "verified": {"by": HOSTILE, "engineers": [HOSTILE, None]},
    "manager_ready": {"product": HOSTILE, "version": "v1"},
    "delegated": {"by": "U0DANA", "to": HOSTILE},
    "verify_for": {"by": "U0DANA", "product": HOSTILE, "version": "v1", "product_channel": HOSTILE, "subjects": PAIRS, "more": 3},
    "nonviable": {"by": "U0DANA", "version": "v1", "reason": HOSTILE, "next_steps": HOSTILE},
    "hand_over": {"by": "U0DANA", "from": HOSTILE, "to": "U0LEAD"},
    "released": {"by": "U0DANA", "product": HOSTILE, "version": "v1", "exception": "urgent_delivery", "note": HOSTILE,
                 "pending_reason": HOSTILE, "pending": [None, HOSTILE]},
    "deploy_hook_failed": {"product": "Checkout", "version": "v1", "error": HOSTILE},
    "freeze_started": {"by": "U0LEAD", "scope": HOSTILE, "until": HOSTILE, "reason": HOSTILE},
    "freeze_ended": {"by": HOSTILE, "scope": "Checkout", "reason": HOSTILE},
    "flag_created": {"by": "U0DANA", "type": "release", "key": HOSTILE, "description": HOSTILE},
    "flag_changed": {"by": "U0DANA", "approver": HOSTILE, "key": "k", "environment": HOSTILE, "state": HOSTILE, "before": "off"},
    "flag_request": {"by": "U0ERIN", "change": HOSTILE, "key": "k", "environment": "production", "owner": "U0DANA", "description": HOSTILE},
    "flag_approved": {"by": "U0DANA", "key": HOSTILE, "environment": "production", "state": "on", "changed": True},
    "flag_rejected": {"by": "U0DANA", "change": HOSTILE, "key": "k", "environment": "production"},
    "flag_owner": {"by": "U0DANA", "key": HOSTILE, "owner": "U0ERIN", "previous": HOSTILE},
    "flag_archived": {"by": HOSTILE, "key": HOSTILE},
    "digest": {"product": HOSTILE, "releases": {"items": [], "more": 2}},  # its blocks: tests/test_digest.py
    "away_delegations": {"pairs": [["U0DANA", HOSTILE], [HOSTILE, "U0LEAD"]]},
    "away_delegate": {"by": "U0DANA", "until": HOSTILE, "product": HOSTILE, "version": "v1", "subjects": PAIRS, "more": 2},
    "reminder": {"user": "U0DANA", "product": HOSTILE, "version": "v1", "engineers": ["U0DANA", HOSTILE]},
    "escalation": {"manager": "U0LEAD", "version": HOSTILE, "pending": ["U0DANA", HOSTILE, None]},
    "ready_open": {"product": HOSTILE, "version": "v1"},
    "week_end": {"version": HOSTILE, "next_open": HOSTILE},
    "flag_defined": {"by": "api", "key": HOSTILE, "environment": HOSTILE, "state": HOSTILE, "before": HOSTILE},
    "plan_event": {"kind": "rolled_back", "by": HOSTILE, "stage": HOSTILE, "reason": HOSTILE},
    "plan_halted": {"kind": "no_go", "by": HOSTILE, "key": HOSTILE, "environment": HOSTILE, "reason": HOSTILE},
    "plan_completed": {"kind": "completed", "by": "plan:1", "key": HOSTILE, "environment": HOSTILE},
}


def test_every_event_kind_has_a_sample_here():
    assert set(events.RENDERERS) - {"ready"} == set(SAMPLES)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_a_renderer_shows_hostile_values_readable_and_inert(kind):
    text = events.render({"event": kind, **SAMPLES[kind]})
    assert_inert(text)
    assert "&lt;!channel&gt;" in text and "&amp; done" in text


def test_user_ids_become_mentions_and_nothing_else_does():
    assert events.who("U0DANA") == "<@U0DANA>" and events.who("W012ABC") == "<@W012ABC>"
    assert events.who(None) == "someone" and events.who("", "nobody") == "nobody"
    assert events.who("<!here>") == "&lt;!here&gt;" and events.who("U0DANA> <!everyone") == "U0DANA&gt; &lt;!everyone"
    assert events.render({"event": "cut", "daily": True, "manager": "U0LEAD", "choice": "picked"}) == (
        "Cut by the daily schedule. Release manager <@U0LEAD>: picked."
    )
    assert "in <#C0CHECKOUT>." in events.render({"event": "verify_for", "by": "U0DANA", "product_channel": "C0CHECKOUT"})


def test_an_old_payload_renders_its_text_as_composed_and_an_unknown_kind_renders_nothing():
    assert events.render({"text": "Cut by <@U0DANA>.", "broadcast": False}) == "Cut by <@U0DANA>."
    assert events.render({"event": "from_a_newer_version"}) is None


def test_a_refusal_escapes_only_the_text_it_repeats():
    refusal = Refused("<@U0LEAD> says: no flag `{key}`.", key=HOSTILE)
    assert str(refusal) == f"<@U0LEAD> says: no flag `{HOSTILE}`."
    assert refusal_text(refusal) == f"<@U0LEAD> says: no flag `{INERT}`."
    assert refusal_text(Refused("Only <@U0LEAD> may {do} this.")) == "Only <@U0LEAD> may {do} this."
