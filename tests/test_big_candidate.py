"""A candidate of 600 commits by 120 engineers: its notice fits in Slack in every state, and each
engineer still finds their changes behind "All changes" and signs them off."""

from __future__ import annotations

import re
import threading

import pytest

from bot.slack.fake.validation import MESSAGE_MAX_BLOCKS_TEXT, blocks_text_length, message_block_errors
from tests.test_candidates import MONDAY, checkout_settings, rc, repo, team  # noqa: F401 (fixtures)
from tests.test_slack_door import wait_for

ENGINEERS = [f"U2{i:03d}" for i in range(120)]
HOSTILE = ("<!channel>&" * 7)[:70]
CUT_ESCAPE = re.compile(r"&(?!amp;|lt;|gt;)")


@pytest.fixture
def big(rc):
    for user in ENGINEERS:
        rc.fake.add_user(user, name=user.lower(), email=f"{user.lower()}@example.com", tz="America/Chicago")
    commits = []
    for n in range(600):
        user = ENGINEERS[n % 120]
        subject = HOSTILE if n == 119 else f"Change {n:03d} by {user}: ".ljust(70, "x")
        commits.append((subject, f"{user.lower()}@example.com"))
    rc.repo.commit_many(commits, when=MONDAY)
    return rc


def fits(message: dict) -> dict:
    """The message as Slack holds it, checked against Slack's limits; its "Next" line is there."""
    assert message_block_errors(message["blocks"]) == []
    assert blocks_text_length(message["blocks"]) <= MESSAGE_MAX_BLOCKS_TEXT
    assert any(b["type"] == "section" and b["text"]["text"].startswith("*Next:* ") for b in message["blocks"])
    return message


def no_errors(rc) -> None:
    failed = [(c["method"], c["error"]) for c in rc.fake.calls() if c["error"]]
    assert failed == []


def texts(message: dict) -> str:
    return "\n".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")


def test_600_changes_by_120_engineers_post_and_update_within_slack_limits(big):
    big.daily("checkout")
    big.settled()
    notice = fits(big.notice())
    assert "*600 changes by 120 engineers, 0 verified*" in texts(notice)
    assert "*Pending (120):*" in texts(notice) and " and 100 more" in texts(notice)
    folded = ENGINEERS[100]
    assert f"<@{folded}>" not in str(notice["blocks"])

    big.slack.block_action(folded, "rc_changes")
    [modal] = wait_for(lambda: big.fake.views(user=folded))
    assert modal["title"]["text"] == "All changes"
    yours = modal["blocks"][1]["text"]["text"]
    assert yours.startswith("*Your changes* (5, to verify):")
    assert all(f"Change {n:03d} by {folded}" in yours for n in range(100, 600, 120))
    assert "is recorded" in big.click(folded, "rc_verify")
    big.settled()
    engineers = {e["user"]: e["state"] for e in big.api()[0]["engineers"]}
    assert engineers[folded] == "verified" and list(engineers.values()).count("verified") == 1
    assert "*600 changes by 120 engineers, 1 verified*" in texts(fits(big.notice()))

    pages = [modal]
    while any(b["type"] == "actions" and "rc_changes_next" in str(b) for b in pages[-1]["blocks"]):
        before = pages[-1]["hash"]
        assert big.slack.view_action(folded, "rc_changes_next").status_code == 200
        pages.append(wait_for(lambda: (v := big.fake.views(user=folded)[-1])["hash"] != before and v))
    listed = "\n".join(texts(page) for page in pages)
    assert len(pages) > 1 and all(f"<@{user}>" in listed for user in ENGINEERS)
    assert f"Page {len(pages)} of {len(pages)}" in listed
    no_errors(big)


def test_hostile_subjects_are_escaped_and_never_cut_mid_escape(big):
    big.daily("checkout")
    big.settled()
    author = ENGINEERS[119]
    big.slack.block_action(author, "rc_changes")
    [modal] = wait_for(lambda: big.fake.views(user=author))
    [line] = [line for line in texts(modal).splitlines() if "&lt;!channel&gt;" in line][:1]
    subject = line.split("` ", 1)[1]
    assert "<!channel>" not in str(modal["blocks"]) and "<!channel>" not in str(big.notice()["blocks"])
    assert subject.endswith("…") and not CUT_ESCAPE.search(subject[:-1])
    assert subject.startswith("&lt;!channel&gt;&amp;&lt;!channel&gt;")
    no_errors(big)


def test_the_notice_fits_through_delegation_supersession_non_viable_ready_and_release(big):
    big.daily("checkout")
    big.settled()
    delegator, teammate = ENGINEERS[110], ENGINEERS[111]
    assert "will verify your changes" in big.click(delegator, "rc_delegate", selected_user=teammate)
    assert "(including 1 delegated to you)" in big.click(teammate, "rc_verify")
    big.settled()
    fits(big.notice())

    big.repo.commit("Payment outage fix", "u2000@example.com", when=MONDAY)
    reason = "payments & <!here> are failing " * 48  # /rc takes at most 4,000 characters
    assert "Cut Checkout 2026.11.17-rc2" in big.command(f"cut urgent {reason}", "U2000")
    big.settled()
    old, new = (fits(message) for message in big.notices())
    assert ":fast_forward: *Superseded*" in texts(old) and "*Next:* Replaced by 2026.11.17-rc2" in texts(old)
    assert "*601 changes by 120 engineers, 2 verified*" in texts(new)  # the sign-offs carried over

    steps = "revert & <!channel> re-cut " * 70
    assert "now marked not viable" in big.command(f"nonviable {reason} next: {steps}", "U2000")
    big.settled()
    dead = fits(big.notice())
    assert ":no_entry: *Not viable*" in texts(dead) and "*Next:* revert &amp; &lt;!channel&gt; re-cut" in texts(dead)

    assert "Cut Checkout 2026.11.17-rc3" in big.command("cut", "U2000")
    big.settled()
    # Sign-offs do not carry over from a non-viable candidate: all 120 sign off again, four at a time.
    def press(users: list[str]) -> None:
        for user in users:
            assert "is recorded" in big.click(user, "rc_verify")

    threads = [threading.Thread(target=press, args=(ENGINEERS[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert big.api()[0]["state"] == "ready"
    big.settled()
    ready = fits(big.notice())
    assert "*Ready for production*" in texts(ready) and "*Next:* Every change is verified" in texts(ready)

    assert "Released Checkout 2026.11.17-rc3" in big.command("release", "U2000")
    big.settled()
    released = fits(big.notice())
    assert ":rocket: *Released*" in texts(released) and all(b["type"] != "actions" for b in released["blocks"])
    no_errors(big)
