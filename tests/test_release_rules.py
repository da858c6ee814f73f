"""The candidate rules as plain Python: release-manager choice, who signs what, the message folding."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from bot.release.manager import Eligible, choose_release_manager
from bot.release.model import Candidate, CandidateState, Change, Trigger
from bot.slack.blocks.candidate import candidate_message
from bot.slack.fake.validation import message_block_errors

NY, BERLIN = "America/New_York", "Europe/Berlin"
NOW = dt.datetime(2026, 11, 17, 14, 0, tzinfo=dt.timezone.utc)


def test_the_choice_prefers_the_preferred_time_zone_and_says_so():
    engineers = [Eligible("U1", NY), Eligible("U2", BERLIN), Eligible("U3", NY)]
    choice = choose_release_manager(engineers, NY, {}, random.Random(1))
    assert choice.user in {"U1", "U3"}
    assert choice.explanation == "picked from 2 engineers in America/New_York"


def test_without_anyone_in_the_preferred_zone_everyone_is_eligible():
    choice = choose_release_manager([Eligible("U2", BERLIN), Eligible("U4", None)], NY, {}, random.Random(1))
    assert choice.user in {"U2", "U4"}
    assert choice.explanation == "picked from 2 engineers (none in America/New_York)"


def test_the_least_served_are_preferred():
    engineers = [Eligible("U1", NY), Eligible("U2", NY), Eligible("U3", NY)]
    choice = choose_release_manager(engineers, NY, {"U1": 3, "U2": 1, "U3": 1}, random.Random(5))
    assert choice.user in {"U2", "U3"}
    assert "among the 2 with the fewest recent stints" in choice.explanation


def test_the_choice_is_exact_for_a_seeded_generator():
    engineers = [Eligible(f"U{i}", NY) for i in range(6)]
    picks = [choose_release_manager(engineers, NY, {}, random.Random(42)).user for _ in range(3)]
    assert len(set(picks)) == 1


def test_nobody_to_choose_from_is_no_choice():
    assert choose_release_manager([], NY, {}, random.Random(1)) is None


def test_over_many_cuts_nobody_is_picked_far_more_often():
    """600 daily cuts among 6 New York engineers and 2 in Berlin: each New Yorker serves 100 times."""
    rng = random.Random(2026)
    team = [Eligible(f"U{i}", NY) for i in range(6)] + [Eligible("UB1", BERLIN), Eligible("UB2", BERLIN)]
    stints: Counter[str] = Counter()
    for _ in range(600):
        present = rng.sample(team, k=rng.randint(3, len(team)))  # not everyone commits every day
        choice = choose_release_manager(present, NY, stints, rng)
        stints[choice.user] += 1
    new_yorkers = [stints[f"U{i}"] for i in range(6)]
    assert sum(new_yorkers) + stints["UB1"] + stints["UB2"] == 600
    assert max(new_yorkers) - min(new_yorkers) <= 25, stints
    assert stints["UB1"] + stints["UB2"] < 60  # only picked on days no New Yorker committed


def test_pure_random_choice_would_not_be_this_fair():
    """The statistical test can fail: without the least-served rule the spread is far wider."""
    rng = random.Random(2026)
    team = [Eligible(f"U{i}", NY) for i in range(6)]
    stints: Counter[str] = Counter()
    for _ in range(600):
        present = rng.sample(team, k=rng.randint(1, 3))
        stints[choose_release_manager(present, NY, {}, rng).user] += 1
    balanced: Counter[str] = Counter()
    rng = random.Random(2026)
    for _ in range(600):
        present = rng.sample(team, k=rng.randint(1, 3))
        balanced[choose_release_manager(present, NY, balanced, rng).user] += 1
    spread = max(stints.values()) - min(stints.values())
    assert max(balanced.values()) - min(balanced.values()) < spread


def change(sha: str, engineer: str | None, verified_by: str | None = None) -> Change:
    return Change(sha, f"{engineer or 'ghost'}@example.com", engineer or "Ghost", f"subject {sha}", engineer, verified_by, NOW if verified_by else None)


def candidate(changes, delegations=None, manager="U1", state=CandidateState.VERIFYING) -> Candidate:
    return Candidate(
        id=7, product="checkout", version="2026.11.17-rc1", state=state, trigger=Trigger.DAILY,
        release_manager=manager, head_sha="b" * 40, base_sha="a" * 40, created_at=NOW, created_by=None,
        changes=tuple(changes), delegations=delegations or {},
    )


def test_engineers_are_listed_in_order_with_unmatched_authors_last():
    c = candidate([change("1", None), change("2", "U2"), change("3", "U1"), change("4", "U2")])
    assert [e.user for e in c.engineers] == ["U2", "U1", None]
    assert [len(e.changes) for e in c.engineers] == [2, 1, 1]


def test_who_may_sign_what():
    c = candidate([change("1", "U1"), change("2", "U2"), change("3", None), change("4", "U3", "U3")], {"U2": "U9"})
    assert c.signable_by("U1") == ["U1", None]  # the release manager signs the unmatched authors' changes
    assert c.signable_by("U2") == ["U2"]  # an engineer may still sign their own after delegating
    assert c.signable_by("U9") == ["U2"]
    assert c.signable_by("U3") == []  # already verified
    assert c.signable_by("U5") == []
    assert [e.user for e in c.pending] == ["U1", "U2", None]
    assert not c.fully_verified


def test_a_candidate_of_500_changes_by_100_engineers_folds_into_a_valid_message():
    changes = [change(f"{i:040d}", f"U{i % 100:03d}") for i in range(500)]
    message = candidate_message(candidate(changes), "Checkout")
    blocks = message["blocks"]
    assert message_block_errors(blocks) == []
    assert blocks[-4]["text"]["text"].startswith("*Pending (100):* <@U000>, <@U001>")
    assert blocks[-4]["text"]["text"].endswith("<@U019> and 80 more")
    assert blocks[-3]["text"]["text"].startswith("*Next:* Check your changes")
    action_ids = [e["action_id"] for e in blocks[-2]["elements"]]
    assert action_ids == ["rc_verify", "rc_delegate", "rc_nonviable"]


@pytest.mark.parametrize("state", [CandidateState.RELEASED, CandidateState.NON_VIABLE, CandidateState.SUPERSEDED])
def test_a_candidate_that_is_over_has_no_buttons(state):
    message = candidate_message(candidate([change("1", "U1")], state=state), "Checkout", "2026.11.17-rc2")
    assert all(block["type"] != "actions" for block in message["blocks"])


def test_even_hundreds_of_engineers_are_all_counted():
    changes = [change(f"{i:040d}", f"U{i:05d}", verified_by=f"U{i:05d}" if i % 2 else None) for i in range(800)]
    blocks = candidate_message(candidate(changes), "Checkout")["blocks"]
    assert blocks[2]["text"]["text"] == "*800 changes by 800 engineers, 400 verified*"
    folded = blocks[-4]["text"]["text"]
    assert folded.startswith("*Pending (400):* <@U00000>, <@U00002>") and folded.endswith(" and 380 more")
