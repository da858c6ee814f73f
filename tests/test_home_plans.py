"""Rollout plans on the App Home (approve and Go from there) and the owner's reminder to retire a
flag whose plan completed."""

from __future__ import annotations

from tests.test_rollouts import api, flag, job, plans, prometheus  # noqa: F401 (fixtures)
from tests.home_rig import action_ids, text_of
from tests.test_slack_door import wait_for

DANA, LEAD, OPS, PM = "U0DANA", "U0LEAD", "U0OPS", "U0PM"


def plan_ids(rig, user: str) -> list[str]:
    home = rig.fake.home(user)
    return [a for a in action_ids(home) if a.startswith("plan_")] if home else []


def test_approvers_approve_and_the_owner_says_go_from_their_homes(plans, clock):
    flag(plans, "create new-pay", DANA)
    flag(plans, "plan new-pay standard production", DANA)
    plans.settled()
    [listed] = api(plans, "new-pay")
    plan_id = listed["id"]
    assert plan_ids(plans, LEAD) == [f"plan_approve:technical:{plan_id}"]
    assert f"Rollout plan #{plan_id} for `new-pay` in *production*" in text_of(plans.fake.home(LEAD))
    assert plan_ids(plans, OPS) == [f"plan_approve:operations:{plan_id}"]
    assert plan_ids(plans, DANA) == []  # an approver of technical too, but it is her own plan
    assert "No rollout plan waits for your approval or your Go" in text_of(plans.fake.home(DANA))

    stale = plans.fake.home(LEAD)
    assert plans.slack.home_action(DANA, f"plan_approve:technical:{plan_id}", home=stale).status_code == 200
    assert "You cannot approve or reject your own plan" in wait_for(lambda: plans.fake.dms(DANA))[-1]["text"]
    assert plans.slack.home_action(LEAD, f"plan_approve:technical:{plan_id}").status_code == 200
    wait_for(lambda: api(plans, "new-pay")[0]["approvals"])
    plans.settled()
    assert plan_ids(plans, LEAD) == []
    assert plans.slack.home_action(LEAD, f"plan_approve:technical:{plan_id}", home=stale).status_code == 200
    assert "already" in wait_for(lambda: plans.fake.dms(LEAD))[-1]["text"]
    for user, role in ((OPS, "operations"), (PM, "product")):
        assert plans.slack.home_action(user, f"plan_approve:{role}:{plan_id}").status_code == 200
    wait_for(lambda: len(api(plans, "new-pay")[0]["approvals"]) == 3)

    job(plans)
    assert plan_ids(plans, DANA) == []  # baking: nothing to decide
    clock.advance(hours=1)
    job(plans)
    assert api(plans, "new-pay")[0]["state"] == "awaiting_go"
    assert plan_ids(plans, DANA) == [f"plan_go:{plan_id}"] and plan_ids(plans, OPS) == [f"plan_go:{plan_id}"]
    assert plans.slack.home_action(DANA, f"plan_go:{plan_id}").status_code == 200
    wait_for(lambda: api(plans, "new-pay")[0]["stage"] == "beta")
    plans.settled()
    assert plan_ids(plans, DANA) == [] and plan_ids(plans, OPS) == []
    assert not [m for m in plans.fake.dms(DANA) if "Go" in m["text"]]  # a success from the Home needs no message


def test_a_completed_plan_reminds_its_owner_once_to_retire_the_flag(plans, clock):
    flag(plans, "create new-pay", DANA)
    flag(plans, "plan new-pay quick production", DANA)
    def reminders() -> list[str]:
        return [m["text"] for m in plans.fake.dms(DANA) if "/flag archive" in m["text"]]

    rounds = 0
    while api(plans, "new-pay")[0]["state"] != "completed":
        assert reminders() == [] and rounds < 6  # not before completion
        job(plans)
        clock.advance(hours=1)
        rounds += 1
    job(plans)
    [reminder] = reminders()
    assert "fully on in *production*" in reminder and "`/flag archive new-pay`" in reminder
    assert "stale after 30 days" in reminder
