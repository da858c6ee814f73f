"""Bad input changes nothing and stops nothing: NUL characters from Slack, over-long values, far
futures. Run on SQLite and PostgreSQL (which refuses NUL in text)."""

from __future__ import annotations

from tests.test_candidates import MONDAY, checkout_settings, rc, repo, team  # noqa: F401 (fixtures)
from tests.test_flags import flag
from tests.test_slack_door import wait_for


def test_nul_characters_in_slash_command_text_are_dropped(rc):
    assert "Created the release flag `nul-flag`" in flag(rc, "create nul-flag release The new\x00 flow", "U0DANA")
    assert "The new flow" in flag(rc, "show nul-flag", "U0DANA")
    assert "Frozen until" in rc.command_of("/freeze", "start 3d peak\x00 season", "U0ADMIN")
    assert "peak season" in rc.command_of("/freeze", "", "U0ADMIN")


def test_nul_characters_in_a_modal_are_dropped(rc):
    rc.repo.commit("Add the basket total", "dana@example.com", when=MONDAY)
    rc.daily("checkout")
    rc.settled()
    rc.slack.block_action("U0DANA", "rc_nonviable")
    wait_for(lambda: rc.fake.views(user="U0DANA"))
    response = rc.slack.view_submission(
        "U0DANA", "rc_nonviable_view",
        {"rc_nonviable_reason": {"reason": "Crashes\x00 on submit"}, "rc_nonviable_next": {"next_steps": "Re\x00vert"}},
    )
    assert response.status_code == 200 and "errors" not in response.text
    rc.settled()
    assert rc.api()[0]["state"] == "non_viable"
    texts = rc.thread_texts(rc.notice())
    assert any("Crashes on submit" in t and "Revert" in t for t in texts)


def test_nul_characters_in_an_api_body_are_answered_not_a_500(rc):
    import httpx

    from tests.conftest import API_TOKEN

    flag(rc, "create nul-flag", "U0DANA")
    flag(rc, "on nul-flag", "U0DANA")
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    context = {"context": {"targetingKey": "dana\x00", "email\x00": "\x00"}}
    answer = httpx.post(rc.running.url + "/envs/staging/ofrep/v1/evaluate/flags/nul-flag", json=context, headers=headers)
    assert answer.status_code == 200 and answer.json()["value"] is True
    raw = b'{"context": {"targetingKey": "a\x00b"}}'  # a raw NUL is not JSON
    answer = httpx.post(rc.running.url + "/ofrep/v1/evaluate/flags", content=raw, headers=headers)
    assert answer.status_code == 400


def test_a_mention_too_long_to_be_a_slack_id_is_not_read_as_one(rc):
    flag(rc, "create long-owner", "U0DANA")
    assert "Name the new owner" in flag(rc, f"owner long-owner <@U{'A' * 40}>", "U0DANA")
