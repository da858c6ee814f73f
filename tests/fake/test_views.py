"""Modals and App Home tabs: triggers, pushing, updating by id or external id, hashes and view limits."""

import pytest

from tests.fake.common import _many, button, modal, section, slack_error


def test_views_open_needs_a_fresh_trigger_issued_by_the_fake(client, fake):
    assert slack_error(lambda: client.views_open(trigger_id="1.2.abc", view=modal()))["error"] == "invalid_trigger_id"
    trigger = fake.new_trigger_id("U0DANA")
    view = client.views_open(trigger_id=trigger, view=modal(callback_id="signoff", private_metadata="rc1"))["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert slack_error(lambda: client.views_open(trigger_id=trigger, view=modal()))["error"] == "exchanged_trigger_id"
    stale = fake.new_trigger_id("U0DANA", ttl=0)
    assert slack_error(lambda: client.views_open(trigger_id=stale, view=modal()))["error"] == "expired_trigger_id"
    [opened] = fake.views(user="U0DANA")
    assert (opened["view_id"], opened["callback_id"], opened["private_metadata"]) == (view["id"], "signoff", "rc1")


def test_views_push_stacks_on_the_open_modal(client, fake):
    root = client.views_open(trigger_id=fake.new_trigger_id("U0DANA"), view=modal())["view"]
    pushed = client.views_push(trigger_id=fake.new_trigger_id("U0DANA"), view=modal("Step 2"))["view"]
    assert pushed["root_view_id"] == root["id"]
    assert pushed["previous_view_id"] == root["id"]
    assert len(fake.views(user="U0DANA")) == 2


def test_views_update_by_id_or_external_id_with_hash_checks(client, fake):
    view = client.views_open(trigger_id=fake.new_trigger_id("U0DANA"), view=modal(external_id="rel-42"))["view"]
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=modal("Updated"))["view"]
    assert updated["title"]["text"] == "Updated" and updated["hash"] != view["hash"]
    stale_hash = slack_error(lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=modal()))
    assert stale_hash["error"] == "hash_conflict"
    client.views_update(external_id="rel-42", view=modal("Again"))
    assert fake.views()[0]["title"]["text"] == "Again"
    assert slack_error(lambda: client.views_update(view_id="V404", view=modal()))["error"] == "not_found"
    assert slack_error(lambda: client.views_update(external_id="nope", view=modal()))["error"] == "not_found"


def test_duplicate_external_id_is_rejected(client, fake):
    client.views_open(trigger_id=fake.new_trigger_id("U0DANA"), view=modal(external_id="x"))
    error = slack_error(lambda: client.views_open(trigger_id=fake.new_trigger_id(), view=modal(external_id="x")))
    assert error["error"] == "duplicate_external_id"


INVALID_VIEWS = {
    "title too long": modal("x" * 25),
    "too many blocks": modal(blocks=_many(101, lambda i: {"type": "divider"})),
    "duplicate action_id": modal(blocks=[section("a", accessory=button("go")), section("b", accessory=button("go"))]),
    "duplicate block_id": modal(blocks=[section("a", block_id="b"), section("b", block_id="b")]),
    "input without submit": modal(
        blocks=[
            {"type": "input", "label": {"type": "plain_text", "text": "L"}, "element": {"type": "plain_text_input"}},
        ]
    ),
    "wrong type": {**modal(), "type": "home"},
}


@pytest.mark.parametrize("view", INVALID_VIEWS.values(), ids=INVALID_VIEWS.keys())
def test_invalid_views_are_rejected_with_invalid_arguments(client, fake, view):
    trigger = fake.new_trigger_id("U0DANA")
    error = slack_error(lambda: client.views_open(trigger_id=trigger, view=view))
    assert error["error"] == "invalid_arguments"
    assert error["response_metadata"]["messages"][0].startswith("[ERROR]")
    assert fake.views() == []
    assert client.views_open(trigger_id=trigger, view=modal())["ok"], "a rejected call must not burn the trigger"


def test_view_with_100_blocks_and_24_char_title_is_accepted(client, fake):
    view = modal("x" * 24, blocks=_many(100, lambda i: {"type": "divider"}))
    assert client.views_open(trigger_id=fake.new_trigger_id(), view=view)["ok"]


def test_views_publish_keeps_one_home_per_user(client, fake):
    home = {"type": "home", "blocks": [section("Releases")]}
    first = client.views_publish(user_id="U0DANA", view=home)["view"]
    second = client.views_publish(user_id="U0DANA", view={"type": "home", "blocks": [section("Now")]})["view"]
    assert second["id"] == first["id"]
    assert fake.home("U0DANA")["blocks"] == [section("Now")]
    assert fake.home("U0ERIN") is None
    assert fake.views() == [], "home tabs are not modals"
    assert slack_error(lambda: client.views_publish(user_id="U0DANA", view=modal()))["error"] == "invalid_arguments"
