"""First-cut e-mail look-ups are paced under Slack's tier rate, and a 429 is waited out, so a
product with many new authors gets every one matched without a burst of rate limits."""

from __future__ import annotations

import asyncio

from bot.slack.directory import SlackDirectory
from bot.slack.pacing import Pacer


def test_two_hundred_new_authors_are_all_matched_without_one_rate_limit(runtime, fake_slack):
    emails = [f"author{number}@example.com" for number in range(200)]
    for number, email in enumerate(emails):
        fake_slack.add_user(f"U1{number:04d}", name=f"author{number}", email=email)
    fake_slack.rate_limit("users.lookupByEmail", per_second=100, per_channel=False)
    runtime.lookup_pacer = Pacer(per_second=80, burst=5)  # the tier's rate, scaled up so the test takes seconds
    matched = asyncio.run(SlackDirectory(runtime).users_for_emails(emails))
    assert matched == {email: f"U1{number:04d}" for number, email in enumerate(emails)}
    statuses = [call["status"] for call in fake_slack.calls("users.lookupByEmail")]
    assert len(statuses) == 200 and set(statuses) == {200}


def test_a_rate_limit_beyond_the_clients_retries_is_waited_out(runtime, fake_slack):
    fake_slack.fail_next("users.lookupByEmail", count=2, status=429, retry_after=1)  # the client retries once
    assert asyncio.run(SlackDirectory(runtime).users_for_emails(["dana@example.com", "lead@example.com"])) == {
        "dana@example.com": "U0DANA",  # from the configuration, no look-up
        "lead@example.com": "U0LEAD",
    }
    assert [call["status"] for call in fake_slack.calls("users.lookupByEmail")] == [429, 429, 200]


def test_the_pacer_spaces_calls_at_its_rate_after_the_burst_and_honours_a_pause():
    now = [0.0]
    pacer = Pacer(per_second=2, burst=3, monotonic=lambda: now[0])
    assert [pacer.reserve() for _ in range(5)] == [0.0, 0.0, 0.0, 0.5, 1.0]
    now[0] = 10.0
    pacer.pause(4)
    assert pacer.reserve() == 4.0
