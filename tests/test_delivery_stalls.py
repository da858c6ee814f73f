"""Delivery never stalls silently: what Slack will never take is set aside, its fixers are told
once, the lane goes on; a refused token pauses all delivery; a crash-interrupted send is looked
for through Slack's cursors."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx
import pytest
from prometheus_client import generate_latest

from bot import metrics
from bot.slack.delivery import PAUSE, Delivery
from storage import outbox
from tests.test_candidates import checkout_settings, commits_by_the_team, rc, repo, team  # noqa: F401 (fixtures)

MEMBERS = ("U0DANA", "U0ADMIN", "U0LEAD", "U0STRANGER")


def kick_bot(fake, channel: str = "C0CHECKOUT") -> None:
    fake.add_channel(channel, members=MEMBERS, bot_member=False)


def invite_bot(fake, channel: str = "C0CHECKOUT") -> None:
    fake.add_channel(channel, members=MEMBERS)


def set_aside(rc) -> list[outbox.SetAsideItem]:
    with rc.runtime.db.reading() as session:
        return outbox.set_aside(session)


def dm_texts(rc, user: str) -> list[str]:
    return [m["text"] for m in rc.fake.dms(user)]


def drain(rc, delivery: Delivery | None = None) -> int:
    return asyncio.run((delivery or Delivery(rc.runtime)).drain(timeout=10))


def test_a_channel_the_bot_is_not_in_sets_its_messages_aside_and_tells_the_product_admins_once(rc):
    kick_bot(rc.fake)
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()  # nothing owed: the set-aside messages no longer hold anything back
    aside = set_aside(rc)
    assert {(item.kind, item.channel, item.error) for item in aside} == {("notice", "C0CHECKOUT", "not_in_channel"), ("thread", "C0CHECKOUT", "not_in_channel")}
    assert all(item.lane.startswith("candidate:") and item.set_aside_at == rc.runtime.clock.now() for item in aside)
    manager = rc.api()[0]["release_manager"]
    assert len(rc.fake.dms(manager)) >= 1  # the manager's own lane went on
    [alert] = [text for text in dm_texts(rc, "U0LEAD") if "invite" in text]
    assert alert.startswith("I cannot post in <#C0CHECKOUT>: invite @releasebot to it (`/invite @releasebot`)")
    assert not any("invite" in text for text in dm_texts(rc, "U0ADMIN"))  # the product has its own admins
    scraped = httpx.get(rc.running.url + "/metrics").text
    assert float(re.search(r'^releasebot_outbox_set_aside\{error="not_in_channel"\} (\S+)$', scraped, re.M)[1]) == len(aside)

    rc.repo.commit("More work", "dana@example.com", when=rc.runtime.clock.now())
    rc.command("cut urgent the basket is broken", "U0DANA")  # a second candidate, same channel, same error
    rc.settled()
    assert len(set_aside(rc)) > len(aside)
    assert [text for text in dm_texts(rc, "U0LEAD") if "invite" in text] == [alert]  # told once per (channel, error)


def test_after_the_bot_is_invited_the_next_update_posts_the_one_notice_with_the_current_state(rc):
    kick_bot(rc.fake)
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    assert rc.notices() == []
    invite_bot(rc.fake)
    assert "is now the release manager" in rc.command("manager <@U0DANA>", "U0LEAD")
    rc.settled()
    [notice] = rc.notices()
    assert "Release manager: <@U0DANA>" in str(notice["blocks"])
    assert "handed the release manager role" in rc.thread_texts(notice)[0]  # threaded under the one notice


def test_a_set_aside_post_slack_may_have_taken_is_found_before_a_later_notice_posts_again(rc):
    """The post timed out (Slack took it), then the bot was removed: the retry is set aside with
    the post still in the channel. After the bot is back, the next update finds and updates it."""
    commits_by_the_team(rc.repo)
    notice = rc.interrupted_notice()
    taken = asyncio.run(
        Delivery(rc.runtime).slack.chat_postMessage(
            channel="C0CHECKOUT", text="taken before the timeout", metadata={"event_type": "releasebot_outbox", "event_payload": {"outbox_id": notice.id}}
        )
    )
    rc.fake.fail_next("conversations.history", error="not_in_channel")  # the bot was removed meanwhile
    kick_bot(rc.fake)
    drain(rc)
    assert [(item.id, item.error) for item in set_aside(rc) if item.kind == "notice"] == [(notice.id, "not_in_channel")]
    invite_bot(rc.fake)
    with rc.runtime.db.transaction() as session:
        outbox.enqueue(session, notice.lane, "notice", {"channel": "C0CHECKOUT"}, rc.runtime.clock.now(), notice.candidate_id)
    drain(rc)
    [only] = rc.notices()
    assert only["ts"] == taken["ts"]
    assert "2026.11.17-rc1" in only["text"]  # updated to the candidate's state, not posted again


def test_a_refused_update_is_set_aside_and_its_lane_goes_on(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    rc.fake.fail_next("chat.update", error="msg_blocks_too_long")
    rc.click("U0LEAD", "rc_verify")
    rc.settled()
    [aside] = set_aside(rc)
    assert (aside.kind, aside.error, aside.channel) == ("notice", "msg_blocks_too_long", "C0CHECKOUT")
    notice = rc.notice()
    assert any(" verified " in text for text in rc.thread_texts(notice))  # the thread event after it went out
    [alert] = [text for text in dm_texts(rc, "U0LEAD") if "too long" in text]
    assert alert.startswith("Slack refused a message for <#C0CHECKOUT> as too long")
    rc.click("U0ERIN", "rc_verify")
    rc.settled()
    verified = sum(1 for e in rc.api()[0]["engineers"] if e["state"] == "verified")
    assert f"{verified} of" in rc.notice()["text"] and len(rc.notices()) == 1  # later updates still go out


def test_an_alert_that_cannot_be_sent_is_set_aside_and_not_announced_again(rc):
    rc.runtime.config.products[0].admins.clear()
    rc.runtime.config.admins[:] = ["U0NOBODY"]  # no such user in Slack
    kick_bot(rc.fake)
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    alerts = [item for item in set_aside(rc) if item.lane == "dm:U0NOBODY"]
    assert len(alerts) == 1
    with rc.runtime.db.reading() as session:
        assert outbox.backlog(session)[0] == 0


def test_a_refused_token_pauses_all_delivery_without_setting_anything_aside(rc):
    commits_by_the_team(rc.repo)
    rc.running.stop()
    rc.daily()
    delivery = Delivery(rc.runtime)
    delivery.slack.token = "xoxb-revoked"
    assert drain(rc, delivery) == 0
    assert set_aside(rc) == []
    assert 'releasebot_delivery_paused{error="invalid_auth"} 1.0' in generate_latest(metrics.REGISTRY).decode()
    delivery.slack.token = rc.fake.bot_token  # a good token is installed
    calls = len(rc.fake.calls("chat.postMessage"))
    assert drain(rc, delivery) == 0 and len(rc.fake.calls("chat.postMessage")) == calls  # still paused
    rc.runtime.clock.advance(seconds=PAUSE.total_seconds())
    assert drain(rc, delivery) >= 3
    assert 'releasebot_delivery_paused{' not in generate_latest(metrics.REGISTRY).decode()
    assert len(rc.notices()) == 1


def test_a_look_up_the_token_may_not_make_sends_again_and_tells_the_admins_which_scope(rc):
    commits_by_the_team(rc.repo)
    notice = rc.interrupted_notice()
    rc.fake.fail_next("conversations.history", error="missing_scope")
    drain(rc)
    assert len(rc.notices()) == 1 and set_aside(rc) == []
    assert any(text.startswith("The bot token lacks the `channels:history` scope: add it in the app's OAuth settings") for text in dm_texts(rc, "U0LEAD"))


def test_an_interrupted_send_is_found_beyond_the_first_page_of_a_busy_channel(rc):
    commits_by_the_team(rc.repo)
    notice = rc.interrupted_notice()
    client = Delivery(rc.runtime).slack
    tag = {"event_type": "releasebot_outbox", "event_payload": {"outbox_id": notice.id}}
    taken = asyncio.run(client.chat_postMessage(channel="C0CHECKOUT", text="taken before the crash", metadata=tag))
    for number in range(450):
        rc.fake.post_user_message("C0CHECKOUT", "U0DANA", f"chatter {number}")
    first = asyncio.run(client.conversations_history(channel="C0CHECKOUT", limit=200))
    assert first["response_metadata"]["next_cursor"], "the tagged post is beyond the first page, as in a busy channel"
    drain(rc)
    [only] = [m for m in rc.notices() if m.get("user") == "UBOT"]
    assert only["ts"] == taken["ts"]


def test_set_aside_items_are_listed_counted_kept_a_month_and_alerts_recorded_once(db):
    now = dt.datetime(2026, 11, 17, 14, 0, tzinfo=dt.timezone.utc)
    with db.transaction() as session:
        outbox.enqueue(session, "channel:C0FLAGS", "channel", {"channel": "C0FLAGS", "text": "x"}, now)
        outbox.enqueue(session, "dm:U0DANA", "dm", {"user": "U0DANA", "text": "y"}, now)
        outbox.enqueue(session, "dm:U0DANA", "dm", {"user": "U0DANA", "text": "z"}, now)
    with db.transaction() as session:
        first, second, third = [item.id for lane in ("channel:C0FLAGS", "dm:U0DANA") for item in outbox.pending_in_lane(session, lane)]
        outbox.set_aside_item(session, first, now, "is_archived", "C0FLAGS")
        outbox.set_aside_item(session, second, now + dt.timedelta(days=20), "user_not_found", "U0DANA")
        assert outbox.first_alert(session, "channel:C0FLAGS", "is_archived", now)
        assert not outbox.first_alert(session, "channel:C0FLAGS", "is_archived", now)
        assert outbox.first_alert(session, "channel:C0FLAGS", "not_in_channel", now)
    with db.reading() as session:
        listed = outbox.set_aside(session)
        assert [(i.lane, i.kind, i.channel, i.user, i.error) for i in listed] == [
            ("channel:C0FLAGS", "channel", "C0FLAGS", None, "is_archived"),
            ("dm:U0DANA", "dm", None, "U0DANA", "user_not_found"),
        ]
        assert outbox.set_aside_counts(session) == {"is_archived": 1, "user_not_found": 1}
        assert outbox.backlog(session)[0] == 1  # only the third is still owed
        assert [item.id for item in outbox.pending_in_lane(session, "dm:U0DANA")] == [third]
    with db.transaction() as session:
        outbox.forget_delivered_before(session, now, now + dt.timedelta(days=10))
    with db.reading() as session:
        assert [item.error for item in outbox.set_aside(session)] == ["user_not_found"]


def test_a_deleted_candidate_message_is_posted_afresh_and_never_stalls_its_lane(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    [first] = rc.notices()
    rc.fake.delete_message("C0CHECKOUT", first["ts"])  # someone tidied the channel
    assert "is now the release manager" in rc.command("manager <@U0DANA>", "U0LEAD")
    rc.settled()  # the update found no message: it posted the notice again instead of retrying forever
    [again] = rc.notices()
    assert again["ts"] != first["ts"] and "Release manager: <@U0DANA>" in str(again["blocks"])
    assert set_aside(rc) == [] or all(item.error == "thread_not_found" for item in set_aside(rc))


def test_an_error_nobody_foresaw_sets_the_message_aside_instead_of_retrying_forever(rc):
    commits_by_the_team(rc.repo)
    rc.fake.fail_next("chat.postMessage", error="restricted_action")
    rc.daily()
    rc.settled()
    assert [item.error for item in set_aside(rc)][:1] == ["restricted_action"]
