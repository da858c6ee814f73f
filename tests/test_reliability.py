"""Nothing lost, nothing doubled: Slack outages delay messages but lose none and keep their
order; any slash-command text gets an answer, never an error."""

from __future__ import annotations

import asyncio
import re

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import outbox
from tests.test_candidates import checkout_settings, commits_by_the_team, rc, repo, team  # noqa: F401 (fixtures)
from tests.test_slack_door import wait_for


def settle_through_outage(rc) -> None:
    """Let the injected clock run past the worker's back-off until every owed message is out."""

    def owed() -> int:
        with rc.runtime.db.reading() as session:
            return outbox.backlog(session)[0]

    def advanced_and_settled() -> bool:
        rc.runtime.clock.advance(seconds=60)
        return owed() == 0

    wait_for(advanced_and_settled, timeout=30)


def test_a_slack_outage_delays_messages_and_loses_none(rc):
    rc.fake.fail_next("chat.postMessage", count=6, status=500)  # six delivery attempts fail
    commits_by_the_team(rc.repo)
    rc.daily()
    metrics = httpx.get(rc.running.url + "/metrics").text
    assert float(re.search(r"^releasebot_outbox_backlog (\S+)$", metrics, re.M)[1]) >= 3
    settle_through_outage(rc)
    [notice] = rc.notices()
    texts = rc.thread_texts(notice)
    assert len(texts) == 1 and texts[0].startswith("Cut by the daily schedule.")
    manager = rc.api()[0]["release_manager"]
    assert len(rc.fake.dms(manager)) == 1
    statuses = [call["status"] for call in rc.fake.calls("chat.postMessage")]
    assert statuses.count(500) == 6 and statuses.count(200) == 3


def test_updates_after_an_outage_show_the_newest_state_and_never_go_back(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    rc.fake.fail_next("chat.update", count=6, status=500)
    for user in ("U0LEAD", "U0ERIN", "U0DANA"):
        rc.click(user, "rc_verify")
    settle_through_outage(rc)
    notice = rc.notice()
    texts = [version["text"] for version in notice["versions"]] + [notice["text"]]
    shown = [int(re.search(r"(\d+) of", text)[1]) for text in texts]
    assert shown == sorted(shown), shown
    assert shown[-1] == sum(1 for e in rc.api()[0]["engineers"] if e["state"] == "verified") >= 3
    signed = [t.split(" verified ")[0] for t in rc.thread_texts(notice) if " verified " in t]
    assert signed == ["<@U0LEAD>", "<@U0ERIN>", "<@U0DANA>"]


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["cut urgent", "manager <@U0X>", "release", "nonviable next:", "rollout x 101%", "start 0d", "end nowhere", "x" * 5000]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=st.sampled_from(["/rc", "/flag", "/freeze"]), text=TEXT, channel=st.sampled_from(["C0RANDOM", "C0CHECKOUT"]))
def test_any_text_gets_an_answer_and_never_an_error(rc, command, text, channel):
    before = httpx.get(rc.running.url + "/metrics").text.count('outcome="error"')
    response = rc.slack.command(command, text, user_id="U0STRANGER", channel_id=channel)
    assert response.status_code == 200
    if response.content:
        assert response.json()["response_type"] == "ephemeral"
    after = httpx.get(rc.running.url + "/metrics").text
    assert after.count('outcome="error"') == before
    assert not any("Traceback" in e["text"] or "Something went wrong" in e["text"] for e in rc.fake.ephemerals())


def test_a_send_interrupted_by_a_crash_is_found_in_slack_and_not_posted_again(rc):
    """Simulates the crash window: Slack took the notice, the process died before recording it."""
    from bot.slack.delivery import Delivery

    commits_by_the_team(rc.repo)
    notice = rc.interrupted_notice()  # no worker: this test plays the process that died and the one after it
    posted = asyncio.run(
        Delivery(rc.runtime).slack.chat_postMessage(
            channel="C0CHECKOUT", text="taken before the crash", metadata={"event_type": "releasebot_outbox", "event_payload": {"outbox_id": notice.id}}
        )
    )
    asyncio.run(Delivery(rc.runtime).drain(timeout=10))
    [only] = rc.notices()
    assert only["ts"] == posted["ts"]
    assert "2026.11.17-rc1" in only["text"]  # the recovered message was updated to the candidate's state
    assert rc.thread_texts(only)[0].startswith("Cut by the daily schedule.")


def test_forged_interactions_are_refused_and_change_nothing(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    before = rc.api()
    assert rc.slack.block_action("U0DANA", "rc_drop_tables", value="1").status_code == 404  # no such action
    assert "does not belong to a release candidate" in rc.click("U0DANA", "rc_verify", value="1; DROP TABLE")
    assert "does not exist" in rc.click("U0DANA", "rc_verify", value="999999")
    assert "does not belong to a flag request" in rc.click("U0DANA", "flag_approve", value="x")
    assert "That button does not belong" in rc.click("U0DANA", "rc_release_exception", value="{not json")
    candidate_id = before[0]["id"]
    assert "Only engineers with changes" in rc.click("U0STRANGER", "rc_nonviable", value=str(candidate_id))
    rc.slack.block_action("U0LEAD", "rc_nonviable", value=str(candidate_id))
    wait_for(lambda: rc.fake.views(user="U0LEAD"))  # the form is open; meanwhile the candidate is closed
    assert "marked not viable" in rc.command("nonviable it crashes", "U0LEAD")
    late = rc.slack.view_submission(
        "U0LEAD", "rc_nonviable_view",
        {"rc_nonviable_reason": {"reason": "again"}, "rc_nonviable_next": {"next_steps": "x"}},
        private_metadata=str(candidate_id),
    )
    assert late.json()["response_action"] == "errors"  # the candidate no longer takes it
    forged = rc.slack.view_submission(
        "U0LEAD", "rc_nonviable_view",
        {"rc_nonviable_reason": {"reason": "x"}, "rc_nonviable_next": {"next_steps": "x"}},
        private_metadata="../../etc",
    )
    assert forged.json()["response_action"] == "errors"
    after = rc.api()
    assert [e["state"] for e in after[0]["engineers"]] == [e["state"] for e in before[0]["engineers"]]
    assert after[0]["state"] == "non_viable"
