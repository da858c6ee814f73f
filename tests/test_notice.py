"""The notice and the changes modal, built from hostile and oversized candidates: always valid."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.release.model import Candidate, CandidateState, Change, Trigger
from bot.slack.blocks.candidate import candidate_message
from bot.slack.blocks.changes import changes_modal, page_of
from bot.slack.fake.validation import message_block_errors, view_errors

NOW = dt.datetime(2026, 11, 17, 14, 0, tzinfo=dt.timezone.utc)
HOSTILE = ("<!channel>&" * 7)[:70]
LONG = "payments & <!here> > failing " * 200
CUT_ESCAPE = re.compile(r"&(?!amp;|lt;|gt;)")


def candidate(changes, state=CandidateState.VERIFYING, **extra) -> Candidate:
    return Candidate(
        id=7, product="checkout", version="2026.11.17-rc1", state=state, trigger=Trigger.MANUAL,
        release_manager="U0RM", head_sha="b" * 40, base_sha="a" * 40, created_at=NOW, created_by="U0RM",
        changes=tuple(changes), **extra,
    )


def hostile_changes(engineers: int, per_engineer: int, verified_every: int = 3) -> list[Change]:
    changes = []
    for n in range(engineers * per_engineer):
        user = f"U{n % engineers:04d}" if n % 50 else None  # some authors have no Slack account
        verified = f"U{n % engineers:04d}" if (n % engineers) % verified_every == 0 and user else None
        changes.append(Change(f"{n:040x}", f"{LONG[:80]}@example.com", LONG[:120], HOSTILE, user, verified))
    return changes


def sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


@pytest.mark.parametrize("state", list(CandidateState))
@pytest.mark.parametrize("size", [(1, 1), (6, 5), (120, 5), (400, 3)])
def test_every_state_and_size_fits_in_one_message_and_keeps_the_next_line(state, size):
    extra = {"urgent_reason": LONG, "nonviable_reason": LONG, "nonviable_next_steps": LONG, "delegations": {"U0001": "U0RM"}}
    message = candidate_message(candidate(hostile_changes(*size), state, **extra), LONG[:300], LONG[:100])
    assert message_block_errors(message["blocks"]) == []
    texts = sections(message["blocks"])
    assert sum(text.startswith("*Next:* ") for text in texts) == 1
    for text in texts:
        assert "<!channel>" not in text and "<!here>" not in text
        assert not CUT_ESCAPE.search(text)
    buttons = [b["accessory"]["action_id"] for b in message["blocks"] if "accessory" in b]
    assert buttons == ["rc_changes"]


def test_a_small_candidate_lists_its_engineers_and_a_large_one_only_counts_them():
    small = sections(candidate_message(candidate(hostile_changes(5, 2)), "Checkout")["blocks"])
    assert any(text.startswith(":hourglass_flowing_sand: <@U0001>\n• `") and "&lt;!channel&gt;" in text for text in small)
    assert any("Authors without a Slack account (" in text for text in small)
    large = sections(candidate_message(candidate(hostile_changes(120, 5)), "Checkout")["blocks"])
    assert "*600 changes by 120 engineers, 40 verified* (and 12 by authors without a Slack account)" in large
    assert not any("&lt;!channel" in text for text in large)  # subjects live behind "All changes"


def test_the_modal_pages_hold_every_engineer_within_a_modal_limits():
    big = candidate(hostile_changes(400, 3))
    first = changes_modal(big, "Checkout", "U0001")
    total = int(re.search(r"Page 1 of (\d+)", str(first)).group(1))
    pages = [changes_modal(big, "Checkout", "U0001", page) for page in range(total)]
    listed = "\n".join("\n".join(sections(page["blocks"])) for page in pages)
    for page in pages:
        assert view_errors(page, {"modal"}) == []
        assert message_block_errors(page["blocks"]) == []  # a page also stays within a message's 12,000
    assert all(f"<@{e.user}>" in listed for e in big.engineers if e.user) and "Authors without a Slack account" in listed
    assert "rc_changes_next" not in str(pages[-1]) and "rc_changes_previous" not in str(pages[0])
    assert changes_modal(big, "Checkout", "U0001", 10_000) == pages[-1]


def test_your_changes_come_first_and_a_long_list_ends_with_where_to_find_the_rest():
    mine = [Change(f"{n:040x}", "u1@example.com", "U", f"Change {n}", "U0001") for n in range(300)]
    modal = changes_modal(candidate(mine + hostile_changes(3, 1)), "Checkout", "U0001")
    yours = sections(modal["blocks"])[1:3]
    assert yours[0].startswith("*Your changes* (301, to verify):")  # 300 here and 1 among the others and "Change 0\n" in yours[0]
    assert yours[1].endswith(f"more: `git log {'a' * 10}..{'b' * 10}`")
    assert view_errors(modal, {"modal"}) == []
    manager = sections(changes_modal(candidate(hostile_changes(3, 20)), "Checkout", "U0RM")["blocks"])[1]
    assert "_for Authors without a Slack account" in manager  # the release manager verifies those
    stranger = sections(changes_modal(candidate(mine), "Checkout", "U0NOBODY")["blocks"])[1]
    assert stranger == "*Your changes:* none in this candidate."


@pytest.mark.parametrize("value, expected", [("7:2", (7, 2)), ("7", None), ("x:1", None), ("7:-1", None), ("9" * 19 + ":0", None)])
def test_page_buttons_carry_the_candidate_and_the_page(value, expected):
    assert page_of(value) == expected
