"""Release candidates end to end: real git repositories, the real bot over HTTP, the fake Slack."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import httpx
import pytest

from bot.config import Config
from bot.scheduler import run_job
from tests.conftest import API_TOKEN, BASE_CONFIG, make_runtime
from tests.gitrepo import GitRepo
from tests.harness import start_bot
from bot.slack.fake import SlackDriver
from tests.test_slack_door import wait_for

SIGNING_SECRET = "test-signing-secret"
MONDAY = dt.datetime(2026, 11, 16, 15, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def repo(tmp_path) -> GitRepo:
    return GitRepo(tmp_path / "checkout")


@pytest.fixture
def team(fake_slack):
    fake_slack.add_user("U0CIBOT", name="ci", email="ci@example.com", is_bot=True)
    fake_slack.add_user("U0GONE", name="gone", email="gone@example.com", deleted=True)
    fake_slack.add_user("U0ERIN", name="erin", email="erin@example.com", tz="America/New_York")
    return fake_slack


@pytest.fixture
def checkout_settings() -> dict:
    """Extra configuration of the checkout product; test modules override this fixture."""
    return {}


@pytest.fixture
def rc(db, team, clock, repo, tmp_path, checkout_settings):
    quiet = GitRepo(tmp_path / "search")
    quiet.commit("Released long ago", "dana@example.com", when=MONDAY - dt.timedelta(days=30))
    checkout = {**BASE_CONFIG["products"][0], "repository": str(repo.path), **checkout_settings}
    products = [checkout, {**BASE_CONFIG["products"][1], "repository": str(quiet.path)}]
    settings = {**BASE_CONFIG, "products": products}
    runtime = make_runtime(db, team, Config.model_validate(settings), clock)
    runtime.hook_backoff = (0.01, 0.01)
    running = start_bot(runtime)
    driver = SlackDriver(running.events_url, SIGNING_SECRET, team)
    yield Rig(running, driver, team, repo)
    driver.close()
    running.stop()


class Rig:
    def __init__(self, running, driver, fake, repo):
        self.running, self.slack, self.fake, self.repo = running, driver, fake, repo
        self.runtime = running.runtime

    def daily(self, product: str | None = None) -> str:
        return asyncio.run(run_job(self.runtime, "daily-candidates", product))

    def notices(self) -> list[dict]:
        return self.fake.messages("C0CHECKOUT")

    def notice(self, index: int = -1) -> dict:
        return wait_for(lambda: self.notices() and self.notices()[index])

    def thread_texts(self, message: dict) -> list[str]:
        return [reply["text"] for reply in self.fake.thread("C0CHECKOUT", message["ts"])]

    def api(self) -> list[dict]:
        response = httpx.get(
            self.running.url + "/api/v1/candidates", params={"product": "checkout"},
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        )
        assert response.status_code == 200
        return response.json()["candidates"]

    def ephemeral_texts(self, user: str) -> list[str]:
        return [e["text"] for e in self.fake.ephemerals(user=user)]

    def command(self, text: str, user: str, channel: str = "C0CHECKOUT") -> str:
        """Run /rc and return the private answer it gets."""
        return self.command_of("/rc", text, user, channel)

    def command_of(self, command: str, text: str, user: str, channel: str = "C0CHECKOUT") -> str:
        return self._answer(user, lambda: self.slack.command(command, text, user_id=user, channel_id=channel))

    def click(self, user: str, action_id: str, **options) -> str:
        return self._answer(user, lambda: self.slack.block_action(user, action_id, **options))

    def _answer(self, user: str, send) -> str:
        return self.private_answer(user, send)["text"]

    def private_answer(self, user: str, send) -> dict:
        """The ephemeral message `send` gets, whether in the HTTP answer or through the response URL."""
        before = len(self.fake.ephemerals(user=user))
        response = send()
        assert response.status_code == 200
        if response.content and response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return wait_for(lambda: len(self.fake.ephemerals(user=user)) > before and self.fake.ephemerals(user=user))[-1]

    def settled(self) -> None:
        """Wait until every owed message has gone out."""
        from storage import outbox

        def empty():
            with self.runtime.db.reading() as session:
                return outbox.backlog(session)[0] == 0

        wait_for(empty)

    def interrupted_notice(self):
        """With no worker running, the daily cut, then its notice marked as being sent: what a
        process leaves that died inside the send (Slack may or may not have taken it)."""
        from storage import outbox

        self.running.stop()
        self.daily()
        with self.runtime.db.reading() as session:
            [lane] = [lane for lane in outbox.due_lanes(session, self.runtime.clock.now(), 10) if lane.startswith("candidate:")]
            notice = outbox.pending_in_lane(session, lane)[0]
        with self.runtime.db.transaction() as session:
            outbox.mark_sending(session, notice.id, self.runtime.clock.now())
        return notice


def commits_by_the_team(repo: GitRepo) -> None:
    repo.commit("Add the basket total", "dana@example.com", when=MONDAY)
    repo.commit("Fix rounding", "lead@example.com", when=MONDAY)
    repo.commit("Bump dependencies", "ci@example.com", when=MONDAY)
    repo.commit("Old work", "gone@example.com", when=MONDAY)
    repo.commit("Quick hotfix", "ghost@example.com", name="Ghost Writer", when=MONDAY)
    repo.commit("Erin's feature", "erin@example.com", when=MONDAY)


def test_the_daily_cut_posts_one_notice_picks_a_manager_and_explains_the_choice(rc):
    commits_by_the_team(rc.repo)
    summary = rc.daily("checkout")
    assert "cut 2026.11.17-rc1 with 6 changes by 3 engineers" in summary
    rc.settled()
    [notice] = rc.notices()
    text = str(notice["blocks"])
    assert "Checkout 2026.11.17-rc1" in text
    assert "<@U0DANA>" in text and "<@U0LEAD>" in text and "<@U0ERIN>" in text
    assert "<@U0CIBOT>" not in text and "<@U0GONE>" not in text
    assert "Ghost Writer" in text and "Authors without a Slack account" in text
    buttons = [e for b in notice["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [e.get("text", {}).get("text") for e in buttons if e["type"] == "button"] == ["Verified", "Non-viable"]
    assert any(e["type"] == "users_select" for e in buttons)
    [candidate] = rc.api()
    manager = candidate["release_manager"]
    assert manager in {"U0DANA", "U0ERIN"}  # the two engineers in New York; the lead is in Berlin
    assert any("picked from 2 engineers in America/New_York" in t for t in rc.thread_texts(notice))
    assert "You are the release manager" in rc.fake.dms(manager)[-1]["text"]
    assert candidate["trigger"] == "daily" and candidate["state"] == "verifying"
    assert [e["user"] for e in candidate["engineers"]] == ["U0DANA", "U0LEAD", "U0ERIN", None]
    lookups = [c["params"]["email"] for c in rc.fake.calls("users.lookupByEmail")]
    assert sorted(lookups) == sorted(set(lookups))  # asked once per author, not per commit
    assert "dana@example.com" not in lookups  # matched through `people`


def test_no_new_changes_means_no_candidate_and_no_message(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    posted = len(rc.fake.calls("chat.postMessage"))
    assert "no new changes since 2026.11.17-rc1" in rc.daily()
    rc.settled()
    assert len(rc.fake.calls("chat.postMessage")) == posted
    assert len(rc.api()) == 1


def test_two_runs_at_once_make_one_candidate(rc):
    commits_by_the_team(rc.repo)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(rc.daily("checkout"))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(rc.api()) == 1
    rc.settled()
    assert len(rc.notices()) == 1


def test_sign_offs_delegation_and_ready(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    manager = rc.api()[0]["release_manager"]
    other_new_yorker = "U0ERIN" if manager == "U0DANA" else "U0DANA"

    assert rc.click("U0STRANGER", "rc_verify").startswith("You have nothing to verify in 2026.11.17-rc1")

    assert "will verify your changes" in rc.click("U0LEAD", "rc_delegate", selected_user="U0ADMIN")
    rc.settled()
    assert "asked you to verify their changes" in rc.fake.dms("U0ADMIN")[-1]["text"]
    assert "(including 1 delegated to you)" in rc.click("U0ADMIN", "rc_verify")
    assert "is recorded" in rc.click(other_new_yorker, "rc_verify")
    rc.settled()
    engineers = {e["user"]: e for e in rc.api()[0]["engineers"]}
    assert engineers["U0LEAD"] == {"user": "U0LEAD", "state": "verified", "delegate": "U0ADMIN"}
    assert engineers[other_new_yorker]["state"] == "verified"
    assert engineers[None]["state"] == "pending" and engineers[None]["delegate"] == manager
    assert "verified for them by <@U0ADMIN>" in str(rc.notice()["blocks"])

    rc.click(manager, "rc_verify")  # their own changes and the unmatched authors'
    rc.settled()
    assert rc.api()[0]["state"] == "ready"
    assert "is ready: every change is verified" in rc.fake.dms(manager)[-1]["text"]
    assert ":white_check_mark: *Ready for production*" in str(rc.notice()["blocks"])
    texts = rc.thread_texts(rc.notice())
    assert "<@U0LEAD> asked <@U0ADMIN> to verify their changes." in texts
    assert "<@U0ADMIN> verified <@U0LEAD>." in texts
    assert texts[-1] == "Every change is verified: the candidate is ready for production.", texts


def test_a_hundred_clicks_at_once_record_each_sign_off_once(rc):
    engineers = [f"U1{i:03d}" for i in range(30)]
    for user in engineers:
        rc.fake.add_user(user, name=user.lower(), email=f"{user.lower()}@example.com", tz="America/Chicago")
        rc.repo.commit(f"Work of {user}", f"{user.lower()}@example.com", when=MONDAY)
    rc.daily()
    rc.settled()
    clicks = engineers * 3 + engineers[:10]
    barrier = threading.Barrier(20)

    def press(users: list[str]) -> None:
        with SlackDriver(rc.running.events_url, SIGNING_SECRET, rc.fake) as driver:
            barrier.wait()
            for user in users:
                assert driver.block_action(user, "rc_verify").status_code == 200

    threads = [threading.Thread(target=press, args=(clicks[i::20],)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_for(lambda: rc.api()[0]["state"] == "ready", timeout=20)
    rc.settled()
    signed = [t for t in rc.thread_texts(rc.notice()) if t.endswith("verified their changes.")]
    assert sorted(signed) == sorted(f"<@{user}> verified their changes." for user in engineers)
    assert "30 of 30 verified" in rc.notice()["text"]


def test_non_viable_from_the_button_and_modal(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    assert "Only engineers with changes" in rc.click("U0STRANGER", "rc_nonviable")
    assert rc.fake.views() == []

    rc.slack.block_action("U0LEAD", "rc_nonviable")
    [view] = wait_for(lambda: rc.fake.views(user="U0LEAD"))
    response = rc.slack.view_submission(
        "U0LEAD", "rc_nonviable_view",
        {"rc_nonviable_reason": {"reason": "Checkout crashes on submit"}, "rc_nonviable_next": {"next_steps": "Revert abc and re-cut"}},
    )
    assert response.status_code == 200
    rc.settled()
    assert rc.api()[0]["state"] == "non_viable"
    notice = rc.notice()
    assert all(block["type"] != "actions" for block in notice["blocks"])
    broadcast = [r for r in rc.fake.thread("C0CHECKOUT", notice["ts"]) if "not viable" in r["text"]]
    assert "Checkout crashes on submit" in broadcast[0]["text"] and "Revert abc and re-cut" in broadcast[0]["text"]

    stale = {**notice, "blocks": notice["versions"][0]["blocks"]}  # a client still showing the buttons
    assert "no longer takes sign-offs" in rc.click("U0DANA", "rc_verify", message=stale)


def test_rc_commands_cut_urgent_manager_nonviable_and_status(rc):
    commits_by_the_team(rc.repo)
    rc.daily()
    rc.settled()
    first = rc.api()[0]
    rc.click("U0LEAD", "rc_verify")
    rc.settled()

    refusal = rc.command("cut", "U0ERIN")
    assert "already has a candidate in progress: 2026.11.17-rc1" in refusal
    assert f"release manager <@{first['release_manager']}>" in refusal and "/rc cut urgent <reason>" in refusal

    assert "needs a reason" in rc.command("cut urgent", "U0ERIN")
    assert len(rc.api()) == 1

    rc.repo.commit("Payment outage fix", "erin@example.com", when=MONDAY)
    assert "Cut Checkout 2026.11.17-rc2" in rc.command("cut urgent payments are failing", "U0ERIN")
    rc.settled()
    new, old = rc.api()
    assert old["state"] == "superseded" and new["state"] == "verifying"
    assert new["release_manager"] == "U0ERIN" and new["trigger"] == "manual"
    engineers = {e["user"]: e["state"] for e in new["engineers"]}
    assert engineers["U0LEAD"] == "verified"  # carried over from the superseded candidate
    assert engineers["U0ERIN"] == "pending"
    old_notice, new_notice = rc.notices()
    assert "Replaced by 2026.11.17-rc2" in str(old_notice["blocks"])
    assert any("payments are failing" in t for t in rc.thread_texts(old_notice))
    assert "urgent candidate" in rc.fake.dms("U0LEAD")[-1]["text"]

    assert "Only the release manager <@U0ERIN>" in rc.command("manager <@U0DANA|dana>", "U0DANA")
    assert "is now the release manager" in rc.command("manager <@U0DANA|dana>", "U0ERIN")
    assert rc.api()[0]["release_manager"] == "U0DANA"
    rc.settled()
    assert "You are now the release manager" in rc.fake.dms("U0DANA")[-1]["text"]

    status = rc.command("status", "U0STRANGER")
    assert "2026.11.17-rc2" in status and "Release manager: <@U0DANA>" in status
    assert "Verified: <@U0LEAD>" in status and "Pending: <@U0DANA>" in status
    assert "The candidate's message" in status

    assert "Say why" in rc.command("nonviable", "U0ERIN")
    assert rc.api()[0]["state"] == "verifying"
    assert "marked not viable" in rc.command("nonviable the fix is wrong next: revert and re-cut", "U0ERIN")
    assert rc.api()[0]["state"] == "non_viable"


def test_commands_outside_a_release_channel_take_the_product_key(rc):
    assert "Which product?" in rc.command("status", "U0DANA", channel="C0RANDOM")
    assert "I don't know the product `nope`" in rc.command("status nope", "U0DANA", channel="C0RANDOM")
    assert "Search has no release candidate yet." in rc.command("status search", "U0DANA", channel="C0RANDOM")


def test_the_api_refuses_unknown_products(rc):
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    assert httpx.get(rc.running.url + "/api/v1/candidates", params={"product": "nope"}, headers=headers).status_code == 404
    assert httpx.get(rc.running.url + "/api/v1/candidates", headers=headers).status_code == 400


def test_a_user_change_event_refreshes_the_cached_profile(rc):
    from storage import slack_users

    commits_by_the_team(rc.repo)
    rc.daily()
    changed = {**rc.fake.user("U0ERIN"), "tz": "Europe/Paris"}
    assert rc.slack.event({"type": "user_change", "user": changed}).status_code == 200

    def cached_zone():
        with rc.runtime.db.reading() as session:
            found = slack_users.users(session, ["U0ERIN"], MONDAY - dt.timedelta(days=30))
        return found["U0ERIN"].timezone

    wait_for(lambda: cached_zone() == "Europe/Paris")


def test_a_slack_failure_for_one_product_does_not_cost_the_others_their_cut(rc):
    from bot.release.flows import DailyCutFailed

    commits_by_the_team(rc.repo)
    rc.fake.fail_next("users.lookupByEmail", count=20, status=500)
    with pytest.raises(DailyCutFailed) as failed:
        rc.daily()
    assert failed.value.summaries == ["search: no changes since the last release"]
    assert failed.value.failures[0].startswith("checkout: ")
    assert rc.api() == []
