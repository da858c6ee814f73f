"""The Home's assembly (plain facts to sections) and its Block Kit, without Slack or a database."""

from __future__ import annotations

import datetime as dt

from bot.people.home import (
    SHOWN_APPROVALS,
    SHOWN_FLAGS,
    SHOWN_PENDING,
    Away,
    FlagApproval,
    FreezeInForce,
    HomeFacts,
    ManagedCandidate,
    OwnedFlag,
    PendingVerification,
    assemble,
)
from bot.slack.blocks.home import home_view
from bot.slack.fake.validation import VIEW_MAX_BLOCKS, view_errors

NOW = dt.datetime(2026, 11, 17, 14, 0, tzinfo=dt.timezone.utc)
HOSTILE = "<!channel> & <@U0EVIL> " + "x" * 4000


def pending(n: int, name: str = "Checkout") -> PendingVerification:
    return PendingVerification(
        candidate_id=n, product=name, channel="C0CHECKOUT", version=f"2026.11.17-rc{n}",
        created_at=NOW - dt.timedelta(hours=n), own_changes=3,
        for_others=tuple(f"U0TEAM{i:03d}" for i in range(40)) + (None,), delegated_to="U0LEAD",
    )


def flag(n: int, everywhere: str | None = "off", age: int = 0) -> OwnedFlag:
    return OwnedFlag(
        key=f"flag-{n:03d}" + "-k" * 25, states=(("staging", "on for 20% and 3 targets"), ("production", "off")),
        everywhere=everywhere, last_changed=NOW - dt.timedelta(days=age),
    )


def worst_case() -> HomeFacts:
    """Far more of everything than the Home shows, with the longest texts."""
    return HomeFacts(
        user="U0DANA",
        now=NOW,
        pending=tuple(pending(n, HOSTILE) for n in range(1, 41)),
        managed=tuple(
            ManagedCandidate(n, HOSTILE, "C0X", f"v{n}", "verifying", 3, 200, False, HOSTILE) for n in range(30)
        ),
        approvals=tuple(FlagApproval(n, f"flag-{n}", "production", HOSTILE, "U0LEAD", NOW) for n in range(50)),
        flags=tuple(flag(n, age=40) for n in range(200)),
        freezes=tuple(FreezeInForce(HOSTILE, HOSTILE, HOSTILE) for _ in range(30)),
        next_window="Monday 08:00 EST",
        away=Away(HOSTILE, "U0LEAD"),
    )


def test_sections_keep_the_most_pressing_items_and_count_the_rest():
    home = assemble(worst_case())
    assert len(home.pending.items) == SHOWN_PENDING and home.pending.hidden == 40 - SHOWN_PENDING
    assert [p.candidate_id for p in home.pending.items][:2] == [40, 39]  # waiting longest first
    assert len(home.approvals.items) == SHOWN_APPROVALS and home.approvals.hidden == 50 - SHOWN_APPROVALS
    assert len(home.flags.items) == SHOWN_FLAGS and home.flags.total == 200 and home.stale_total == 200


def test_stale_flags_come_first_and_need_30_days_fully_on_or_off_everywhere():
    facts = HomeFacts(
        user="U0DANA", now=NOW,
        flags=(flag(1, "off", age=29), flag(2, "on", age=30), flag(3, None, age=400), flag(4, "off", age=31)),
    )
    home = assemble(facts)
    assert home.stale == {flag(2).key, flag(4).key}
    assert [f.key for f in home.flags.items] == [flag(2).key, flag(4).key, flag(1).key, flag(3).key]


def test_the_worst_case_fits_a_home_view_and_escapes_what_people_typed():
    view = home_view(assemble(worst_case()), tuple(f"Product {n} <b>" for n in range(50)))
    assert len(view["blocks"]) < VIEW_MAX_BLOCKS
    assert view_errors(view, {"home"}) == []
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in texts)
    joined = "\n".join(texts)
    assert "<!channel>" not in joined and "&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;" in joined
    assert "<b>" not in str(view)
    assert "…and 28 more candidates to verify" in str(view) and "…and 160 more flags" in str(view)
    assert "and 31 more" in joined  # 41 people delegated to her, 10 named


def test_nothing_at_all_is_a_valid_home():
    view = home_view(assemble(HomeFacts(user="U0DANA", now=NOW, window_open=True)))
    assert view_errors(view, {"home"}) == []
    assert "No products are configured yet" in str(view)
