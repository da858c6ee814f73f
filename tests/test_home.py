"""The App Home tab: what waits for a person, working buttons, republished through the outbox."""

from __future__ import annotations

import pytest

from bot.flags import service as flags
from bot.flags.definitions import served_to_everyone
from bot.flags.model import FlagType
from bot.release import releasing, service, signoffs
from bot.slack.fake import SlackDriver
from bot.slack.fake.validation import VIEW_MAX_BLOCKS, view_errors
from storage import outbox
from storage.slack_users import SlackUser
from tests.conftest import BASE_CONFIG, SIGNING_SECRET, make_runtime
from tests.harness import start_bot
from tests.home_rig import action_ids, add_channels, cut, open_home, products_config, settled, text_of
from tests.test_slack_door import wait_for

DANA, LEAD, ADMIN, STRANGER = "U0DANA", "U0LEAD", "U0ADMIN", "U0STRANGER"


def test_a_person_with_nothing_sees_an_empty_but_useful_home(slack, fake_slack):
    home = open_home(slack, fake_slack, STRANGER)
    text = text_of(home)
    assert "Nothing waits for your verification" in text
    assert "No candidate in progress has you as its release manager" in text
    assert "No flag change waits for your approval" in text
    assert "You own no flags" in text
    assert "The release window is open now" in text  # a Tuesday 09:00 in New York
    assert "No freeze is in force" in text
    assert "Checkout" in text and "Search" in text
    assert action_ids(home) == []


def test_verified_from_the_home_is_recorded_and_the_home_republished_without_it(runtime, bot, slack, fake_slack):
    candidate = cut(runtime, "checkout", {DANA: 2, LEAD: 1}, manager=ADMIN)
    settled(runtime)
    home = open_home(slack, fake_slack, DANA)
    assert f"Checkout {candidate.version}" in text_of(home) and "2 changes of yours" in text_of(home)
    assert f"rc_verify:{candidate.id}" in action_ids(home) and f"rc_delegate:{candidate.id}" in action_ids(home)
    manager_home = fake_slack.home(ADMIN)  # published by the outbox when the candidate was cut
    assert "0 of 2 engineers verified" in text_of(manager_home)

    assert slack.home_action(DANA, f"rc_verify:{candidate.id}").status_code == 200
    wait_for(lambda: f"rc_verify:{candidate.id}" not in action_ids(fake_slack.home(DANA)))
    settled(runtime)
    after = service.get(runtime.db, candidate.id)
    assert next(e for e in after.engineers if e.user == DANA).verified
    assert "Nothing waits for your verification" in text_of(fake_slack.home(DANA))
    assert "1 of 2 engineers verified" in text_of(fake_slack.home(ADMIN))
    assert fake_slack.dms(DANA) == []  # a success from the Home needs no message
    assert ":white_check_mark:" in text_of(fake_slack.messages("C0CHECKOUT")[-1])


def test_delegating_from_the_home_moves_the_item_to_the_teammate(runtime, bot, slack, fake_slack):
    candidate = cut(runtime, "checkout", {DANA: 1}, manager=ADMIN)
    settled(runtime)
    open_home(slack, fake_slack, DANA)
    assert slack.home_action(DANA, f"rc_delegate:{candidate.id}", selected_user=LEAD).status_code == 200
    wait_for(lambda: fake_slack.home(LEAD) and f"rc_verify:{candidate.id}" in action_ids(fake_slack.home(LEAD)))
    settled(runtime)
    assert "the changes of <@U0DANA>, verified by you for them" in text_of(fake_slack.home(LEAD))
    assert f"rc_delegate:{candidate.id}" not in action_ids(fake_slack.home(LEAD))  # nothing of their own to delegate
    assert "you asked <@U0LEAD> to verify yours" in text_of(fake_slack.home(DANA))


def test_a_press_in_an_out_of_date_home_is_answered_by_dm_and_the_home_refreshed(runtime, bot, slack, fake_slack):
    candidate = cut(runtime, "checkout", {DANA: 1}, manager=ADMIN)
    settled(runtime)
    stale = open_home(slack, fake_slack, DANA)
    signoffs.declare_nonviable(runtime.db, runtime.config, candidate.id, ADMIN, "broken build", None, runtime.clock.now())
    settled(runtime)
    assert slack.home_action(DANA, f"rc_verify:{candidate.id}", home=stale).status_code == 200
    dm = wait_for(lambda: fake_slack.dms(DANA))
    assert "not viable" in dm[-1]["text"]
    assert "Nothing waits for your verification" in text_of(fake_slack.home(DANA))


def test_a_flag_change_is_approved_from_the_owners_home(runtime, bot, slack, fake_slack):
    now = runtime.clock.now()
    flags.create(runtime.db, runtime.config, "new-checkout", FlagType.RELEASE, "the new checkout", DANA, "checkout", now)
    flags.change(runtime.db, runtime.config, "new-checkout", "production", {"op": "on"}, LEAD, now)
    settled(runtime)
    home = fake_slack.home(DANA)  # the request owed the owner's Home
    request_ids = [a for a in action_ids(home) if a.startswith("flag_approve:")]
    assert len(request_ids) == 1 and "asks to *turn on* `new-checkout` in *production*" in text_of(home)
    assert "flag_approve:" in " ".join(action_ids(fake_slack.home(ADMIN)))  # an admin may decide too
    assert fake_slack.home(LEAD) is None or "flag_approve:" not in " ".join(action_ids(fake_slack.home(LEAD)))

    assert slack.home_action(DANA, request_ids[0]).status_code == 200
    wait_for(lambda: not [a for a in action_ids(fake_slack.home(DANA)) if a.startswith("flag_approve:")])
    settled(runtime)
    assert served_to_everyone(flags.get(runtime.db, "new-checkout").definition("production")) == "on"
    assert "production: on" in text_of(fake_slack.home(DANA))
    assert "flag_approve:" not in " ".join(action_ids(fake_slack.home(ADMIN)))
    assert "approved" in fake_slack.dms(LEAD)[-1]["text"]


def test_the_requester_cannot_approve_their_own_request_from_a_home(runtime, bot, slack, fake_slack):
    now = runtime.clock.now()
    flags.create(runtime.db, runtime.config, "mine", FlagType.RELEASE, "", DANA, None, now)
    outcome = flags.change(runtime.db, runtime.config, "mine", "production", {"op": "on"}, DANA, now)
    settled(runtime)
    assert "flag_approve:" not in " ".join(action_ids(fake_slack.home(DANA)))
    admin_home = fake_slack.home(ADMIN)
    assert f"flag_approve:{outcome.request_id}" in action_ids(admin_home)
    assert slack.home_action(DANA, f"flag_approve:{outcome.request_id}", home=admin_home).status_code == 200
    assert "your own request" in wait_for(lambda: fake_slack.dms(DANA))[-1]["text"]
    assert served_to_everyone(flags.get(runtime.db, "mine").definition("production")) == "off"


def test_stale_flags_are_marked_on_the_injected_clock(runtime, bot, slack, fake_slack, clock):
    now = clock.now()
    for key in ("always-off", "half-on", "all-on"):
        flags.create(runtime.db, runtime.config, key, FlagType.RELEASE, "", DANA, None, now)
    flags.change(runtime.db, runtime.config, "half-on", "staging", {"op": "on"}, DANA, now)
    flags.change(runtime.db, runtime.config, "all-on", "staging", {"op": "on"}, DANA, now)
    request = flags.change(runtime.db, runtime.config, "all-on", "production", {"op": "on"}, DANA, now).request_id
    flags.decide(runtime.db, runtime.config, request, True, ADMIN, now)
    settled(runtime)
    assert "stale" not in text_of(open_home(slack, fake_slack, DANA))

    clock.advance(days=29)
    assert "stale" not in text_of(open_home(slack, fake_slack, DANA))
    clock.advance(days=1, minutes=1)
    text = text_of(open_home(slack, fake_slack, DANA))
    assert "`always-off` staging: off · production: off :zzz: _stale, off everywhere_" in text
    assert "`all-on` staging: on · production: on :zzz: _stale, on everywhere_" in text
    assert "`half-on` staging: on · production: off\n" in text
    assert "2 look stale" in text

    flags.change(runtime.db, runtime.config, "always-off", "staging", {"op": "on"}, DANA, clock.now())
    flags.change(runtime.db, runtime.config, "always-off", "staging", {"op": "off"}, DANA, clock.now())
    settled(runtime)
    assert "1 look stale" in text_of(fake_slack.home(DANA))  # changed today: not stale, though off again


def test_a_hand_over_and_a_release_republish_the_homes_they_concern(runtime, bot, fake_slack):
    candidate = cut(runtime, "checkout", {DANA: 1}, manager=ADMIN)
    settled(runtime)
    assert "You are release manager of (1)" in text_of(fake_slack.home(ADMIN))
    product = runtime.config.product("checkout")
    signoffs.hand_over(runtime.db, runtime.config, product, ADMIN, SlackUser(LEAD, "lead", None, None, False, False), runtime.clock.now())
    settled(runtime)
    assert "No candidate in progress has you as its release manager" in text_of(fake_slack.home(ADMIN))
    assert f"Checkout {candidate.version}" in text_of(fake_slack.home(LEAD))
    request = releasing.ReleaseRequest(product=product, actor=LEAD, pending_reason="hotfix")
    releasing.record_release(runtime.db, runtime.config, request, candidate.id, runtime.clock.now())
    settled(runtime)
    assert "No candidate in progress has you as its release manager" in text_of(fake_slack.home(LEAD))
    assert "Nothing waits for your verification" in text_of(fake_slack.home(DANA))


def test_owed_homes_of_one_person_become_one_publish(runtime, bot, fake_slack):
    now = runtime.clock.now()
    with runtime.db.transaction() as session:
        for _ in range(5):
            service.owe_home(session, [DANA, None], now)
    runtime.wake_delivery()
    settled(runtime)
    assert [c["params"]["user_id"] for c in fake_slack.calls("views.publish")] == [DANA]
    with runtime.db.reading() as session:
        assert outbox.backlog(session)[0] == 0


@pytest.fixture
def crowded(db, fake_slack, clock):
    """Dana on 10 products: her own changes and a teammate's delegated to her in each (20 pending
    items), release manager of all 10, 30 flag requests to decide and 60 flags of her own."""
    config = products_config(10, BASE_CONFIG)
    add_channels(fake_slack, config, (DANA, LEAD, ADMIN, STRANGER))
    runtime = make_runtime(db, fake_slack, config, clock)
    running = start_bot(runtime)
    now = clock.now()
    for product in config.products:
        candidate = cut(runtime, product.key, {DANA: 3, LEAD: 2, STRANGER: 1}, manager=DANA)
        signoffs.delegate(runtime.db, config, candidate.id, LEAD, SlackUser(DANA, "dana", None, None, False, False), now)
    for n in range(60):
        key = f"flag-{n:02d}-with-a-rather-long-key-for-the-line"
        flags.create(runtime.db, config, key, FlagType.RELEASE, "", DANA, None, now)
        if n < 30:
            flags.change(runtime.db, config, key, "production", {"op": "rollout", "percent": 25}, LEAD, now)
    runtime.wake_delivery()
    settled(runtime)
    driver = SlackDriver(running.events_url, SIGNING_SECRET, fake_slack)
    yield runtime, driver
    driver.close()
    running.stop()


def test_far_too_much_stays_under_100_blocks_and_valid(crowded, fake_slack):
    runtime, slack = crowded
    home = open_home(slack, fake_slack, DANA)
    view = {key: value for key, value in home.items() if key not in ("view_id", "user")}
    assert len(home["blocks"]) < VIEW_MAX_BLOCKS
    assert view_errors({"type": "home", "blocks": home["blocks"]}, {"home"}) == []
    text = text_of(home)
    assert "To verify (10)" in text and "the changes of <@U0LEAD>, verified by you for them" in text
    assert "You are release manager of (10)" in text
    assert "Flag changes waiting for your approval (30)" in text and "…and 20 more requests" in text
    assert "Flags you own (60)" in text and "…and 20 more flags" in text
    assert all(len(b["text"]["text"]) <= 3000 for b in home["blocks"] if b["type"] == "section")
    assert len([a for a in action_ids(home) if a.startswith("rc_verify:")]) == 10
    assert view["type"] == "home"


def test_verified_from_a_crowded_home_signs_for_everyone_delegated(crowded, fake_slack):
    runtime, slack = crowded
    home = open_home(slack, fake_slack, DANA)
    first = next(a for a in action_ids(home) if a.startswith("rc_verify:"))
    candidate_id = int(first.split(":")[1])
    assert slack.home_action(DANA, first).status_code == 200
    wait_for(lambda: first not in action_ids(fake_slack.home(DANA)))
    after = service.get(runtime.db, candidate_id)
    assert {e.user: e.verified for e in after.engineers} == {DANA: True, LEAD: True, STRANGER: False}
    assert "To verify (9)" in text_of(fake_slack.home(DANA))


def test_going_away_republishes_the_home_with_the_absence_and_coming_back_clears_it(runtime, bot, slack, fake_slack):
    assert slack.command("/rc", "away 2026-11-20 <@U0LEAD|lead>", user_id=DANA, channel_id="C0RANDOM").status_code == 200
    # through the 20th, in Dana's own time zone
    wait_for(lambda: "You are away until Saturday November 21 2026 00:00 EST" in str(fake_slack.home(DANA)))
    assert f"<@{LEAD}> verifies your changes" in str(fake_slack.home(DANA))
    assert slack.command("/rc", "away end", user_id=DANA, channel_id="C0RANDOM").status_code == 200
    wait_for(lambda: "You are not away" in str(fake_slack.home(DANA)))
