"""/flag over HTTP: commands, owners, approvals in protected environments, the kill switch,
freezes and the audit trail."""

from __future__ import annotations

import threading

import pytest

from tests.test_candidates import Rig, checkout_settings, rc, repo, team  # noqa: F401 (fixtures)
from tests.test_slack_door import wait_for


def flag(rc: Rig, text: str, user: str, channel: str = "C0CHECKOUT") -> str:
    return rc.command_of("/flag", text, user, channel)


def flags_channel(rc: Rig) -> list[dict]:
    return rc.fake.messages("C0FLAGS")


def test_create_show_list_and_change_in_the_default_environment(rc):
    assert "Created the release flag `new-checkout`" in flag(rc, "create new-checkout release The new checkout flow", "U0DANA")
    assert "already exists" in flag(rc, "create new-checkout", "U0ERIN")
    assert "is now on for 10%" in flag(rc, "rollout new-checkout 10%", "U0ERIN")  # staging is not protected
    shown = flag(rc, "show new-checkout", "U0STRANGER")
    assert "*staging*: on for 10%" in shown and "*production* (protected): off" in shown
    assert "owner <@U0DANA>" in shown and "The new checkout flow" in shown
    assert "`new-checkout` (release, <@U0DANA>): staging: on for 10%, production: off" in flag(rc, "list", "U0STRANGER")
    rc.settled()
    assert any("created the release flag `new-checkout`" in m["text"] for m in flags_channel(rc))
    assert any("is now on for 10% (was off), by <@U0ERIN>" in m["text"] for m in flags_channel(rc))


@pytest.mark.parametrize(
    "text, answer",
    [
        ("create Bad_Key", "is not a flag key"),
        ("create -x", "is not a flag key"),
        ("on missing-flag", "There is no flag `missing-flag`"),
        ("on the-flag qa", "I did not understand `qa`"),
        ("rollout the-flag 150%", "Give a percentage from 0 to 100"),
        ("rollout the-flag ten", "Give a percentage from 0 to 100"),
        ("rollout the-flag", "Give a percentage from 0 to 100"),
        ("target the-flag add", "/flag target <key> add|remove"),
        ("owner the-flag dana", "Name the new owner"),
        ("show", "needs a flag key"),
    ],
)
def test_bad_input_is_refused_with_the_usage_and_changes_nothing(rc, text, answer):
    flag(rc, "create the-flag", "U0DANA")
    assert answer in flag(rc, text, "U0ERIN")
    assert "staging: off, production: off" in flag(rc, "list", "U0ERIN")


def test_a_protected_change_waits_for_the_owner_and_is_decided_once(rc):
    flag(rc, "create pay-v2 experiment", "U0DANA")
    answer = flag(rc, "rollout pay-v2 20% production", "U0ERIN")
    assert "waits for the approval of <@U0DANA>" in answer
    rc.settled()
    request = wait_for(lambda: [m for m in flags_channel(rc) if m["blocks"] and "asks to roll out to 20%" in m["text"]])[-1]
    assert "production: off" in flag(rc, "list", "U0ERIN")
    assert "You cannot approve or reject your own request" not in rc.click("U0STRANGER", "flag_approve", message=request, channel_id="C0FLAGS")
    assert "Only the owner of `pay-v2`" in rc.click("U0STRANGER", "flag_approve", message=request, channel_id="C0FLAGS")
    assert "production: on for 20%" not in flag(rc, "list", "U0ERIN")

    results: list[int] = []
    barrier = threading.Barrier(6)

    def click(action: str) -> None:
        barrier.wait()
        results.append(rc.slack.block_action("U0DANA" if action == "flag_approve" else "U0ADMIN", action, message=request, channel_id="C0FLAGS").status_code)

    threads = [threading.Thread(target=click, args=("flag_approve" if i % 2 else "flag_reject",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 6
    rc.settled()
    history = flag(rc, "history pay-v2", "U0ERIN")
    decisions = history.count("approved by") + history.count(" reject ")
    assert decisions == 1, history
    wait_for(lambda: len([e for e in rc.fake.ephemerals() if "This request was already" in e["text"]]) == 5)


def test_the_owner_approves_and_the_requester_is_told(rc):
    flag(rc, "create pay-v3", "U0DANA")
    flag(rc, "on pay-v3 production", "U0ERIN")
    rc.settled()
    request = wait_for(lambda: [m for m in flags_channel(rc) if m["blocks"]])[-1]
    rc.slack.block_action("U0DANA", "flag_approve", message=request, channel_id="C0FLAGS")
    wait_for(lambda: "production: on" in flag(rc, "list", "U0ERIN"))
    rc.settled()
    assert "<@U0DANA> approved your request" in rc.fake.dms("U0ERIN")[-1]["text"]
    assert "approved by <@U0DANA>" in flag(rc, "history pay-v3", "U0ERIN")
    decided = wait_for(lambda: "Approved" in rc.fake.message("C0FLAGS", request["ts"])["text"] and rc.fake.message("C0FLAGS", request["ts"]))
    assert "*Approved* by <@U0DANA>" in decided["text"] and all(b["type"] != "actions" for b in decided["blocks"])


def turned_on_in_production(rc: Rig, key: str, owner: str = "U0DANA") -> None:
    """Even the owner's change waits; an admin approves it."""
    assert "waits for the approval" in flag(rc, f"on {key} production", owner)
    rc.settled()
    request = wait_for(lambda: [m for m in flags_channel(rc) if m["blocks"] and f"asks to turn on `{key}`" in m["text"]])[-1]
    assert "You cannot approve or reject your own request" in rc.click(owner, "flag_approve", message=request, channel_id="C0FLAGS")
    rc.slack.block_action("U0ADMIN", "flag_approve", message=request, channel_id="C0FLAGS")
    wait_for(lambda: f"`{key}` (" in (listed := flag(rc, "list", owner)) and "production: on" in listed)


def test_the_owner_and_admins_wait_for_someone_else_in_a_protected_environment(rc):
    flag(rc, "create own-v1", "U0DANA")
    turned_on_in_production(rc, "own-v1")
    assert "waits for the approval" in flag(rc, "rollout own-v1 20% production", "U0ADMIN")
    rc.settled()
    request = wait_for(lambda: [m for m in flags_channel(rc) if m["blocks"] and "asks to roll out to 20%" in m["text"]])[-1]
    assert "You cannot approve or reject your own request" in rc.click("U0ADMIN", "flag_approve", message=request, channel_id="C0FLAGS")
    rc.slack.block_action("U0DANA", "flag_approve", message=request, channel_id="C0FLAGS")
    wait_for(lambda: "production: on for 20%" in flag(rc, "list", "U0DANA"))


def test_turning_off_is_the_kill_switch_for_anyone_at_once(rc):
    flag(rc, "create search-ai ops", "U0DANA")
    turned_on_in_production(rc, "search-ai")
    assert "is now off" in flag(rc, "off search-ai production", "U0STRANGER")
    assert "production: off" in flag(rc, "list", "U0STRANGER")


def test_a_freeze_allows_only_the_kill_switch_in_protected_environments(rc):
    flag(rc, "create cart-promo", "U0DANA")
    turned_on_in_production(rc, "cart-promo")
    assert "Frozen" in rc.command_of("/freeze", "start 3d Black Friday all", "U0ADMIN")
    assert "A change freeze is in force" in flag(rc, "rollout cart-promo 50% production", "U0DANA")
    assert "is now on for 50%" in flag(rc, "rollout cart-promo 50%", "U0DANA")  # staging is not protected
    assert "is now off" in flag(rc, "off cart-promo production", "U0DANA")


def test_targets_owner_and_archive(rc):
    flag(rc, "create beta-ui permission", "U0DANA")
    assert "is now on for 2 targeting keys" in flag(rc, "target beta-ui add <@U0ERIN|erin> customer-42", "U0DANA")
    assert "keys: U0ERIN, customer-42" in flag(rc, "show beta-ui", "U0DANA")
    assert "Only the owner" in flag(rc, "owner beta-ui <@U0ERIN|erin>", "U0STRANGER")
    assert "<@U0ERIN> now owns `beta-ui`" in flag(rc, "owner beta-ui <@U0ERIN|erin>", "U0DANA")
    assert "Only the owner" in flag(rc, "archive beta-ui", "U0DANA")
    assert "is archived" in flag(rc, "archive beta-ui", "U0ERIN")
    assert "There are no flags yet" in flag(rc, "list", "U0DANA")
    history = flag(rc, "history beta-ui", "U0DANA")
    assert "archive" in history and "owner" in history and "create" in history


def test_approving_an_old_request_never_undoes_a_kill_switch(rc):
    flag(rc, "create pay-v4", "U0DANA")
    turned_on_in_production(rc, "pay-v4")
    assert "waits for the approval" in flag(rc, "rollout pay-v4 20% production", "U0ERIN")
    rc.settled()
    request = wait_for(lambda: [m for m in flags_channel(rc) if m["blocks"] and "roll out to 20%" in m["text"]])[-1]
    assert "is now off" in flag(rc, "off pay-v4 production", "U0STRANGER")
    answer = rc.click("U0DANA", "flag_approve", message=request, channel_id="C0FLAGS")
    assert "must not undo a kill switch" in answer
    assert "production: off" in flag(rc, "list", "U0DANA")


def test_variants_serve_split_and_segments_from_slack(rc):
    assert "mix types" in flag(rc, 'create banner variants red="#f00" size=3', "U0DANA")
    assert "mix types" in flag(rc, "create bad variants a=1 b=x", "U0DANA")
    assert "serving `red`" in flag(rc, 'create banner2 variants red="#f00" blue="#00f"', "U0DANA")
    assert "serves blue" in flag(rc, "serve banner2 blue", "U0DANA")
    assert "no variant `green`" in flag(rc, "serve banner2 green", "U0DANA")
    assert "add up to 90, not 100" in flag(rc, "split banner2 red=40 blue=50", "U0DANA")
    assert "split red 40% / blue 60%" in flag(rc, "split banner2 red=40 blue=60", "U0DANA")
    assert "is now serves red" in flag(rc, "off banner2", "U0STRANGER")  # off: the first variant, to everyone
    flag(rc, "create dogfood", "U0DANA")
    assert "There is no segment `vip`" in flag(rc, "target dogfood add segment:vip", "U0DANA")
    assert "on for segment internal" in flag(rc, "target dogfood add segment:internal", "U0DANA")
    shown = flag(rc, "show dogfood", "U0DANA")
    assert 'segment `internal`: `{"ends_with": [{"var": "email"}, "@example.com"]}`' in shown
    assert "waits for the approval" in flag(rc, "split banner2 red=50 blue=50 production", "U0DANA")
    history = flag(rc, "history banner2", "U0DANA")
    assert "split red 40%, blue 60%" in history and "serve blue to everyone" in history
