"""`releasebot doctor` against the Slack emulator, real git repositories and a real database."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import text

from bot.config import Config, Environment
from bot.doctor import diagnose
from bot.slack.fake import FakeSlack
from bot.slack.scopes import BOT_SCOPES
from storage import Database
from tests.conftest import START
from tests.gitrepo import GitRepo
from tests.test_cli import run


@pytest.fixture
def repo(tmp_path) -> GitRepo:
    repo = GitRepo(tmp_path / "checkout")
    repo.commit("Add the basket", "dana@example.com", when=START - dt.timedelta(days=1))
    return repo


@pytest.fixture
def setup(tmp_path, repo, fake_slack, database_url):
    """A set-up where everything is right; each test breaks one thing."""
    db = Database(database_url)
    db.upgrade()
    db.dispose()
    products = [{"key": "checkout", "name": "Checkout", "channel": "C0CHECKOUT", "repository": str(repo.path)}]
    return {"fake": fake_slack, "database_url": database_url, "products": products, "flags": {"channel": "C0FLAGS"}}


def doctor(setup) -> list[str]:
    """The problems, or [] when the doctor finds none."""
    env = Environment(
        slack_bot_token=setup["fake"].bot_token, slack_signing_secret=None, slack_app_token=None,
        slack_api_url=setup["fake"].api_url, database_url=setup["database_url"], config_path="releasebot.yml", api_token=None,
    )
    config = Config.model_validate({"products": setup["products"], "flags": setup["flags"]})
    return asyncio.run(diagnose(env, config)).problems


def test_all_good_is_a_summary_and_exit_0(setup, tmp_path):
    config = tmp_path / "releasebot.yml"
    product = setup["products"][0]
    config.write_text(
        f"products:\n  - {{key: checkout, name: Checkout, channel: C0CHECKOUT, repository: {product['repository']}}}\n"
        "flags: {channel: C0FLAGS}\n"
    )
    fake = setup["fake"]
    env = {
        "PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": fake.bot_token, "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": setup["database_url"], "RELEASEBOT_CONFIG": str(config),
    }
    result = run(["doctor"], env)
    assert result.returncode == 0, result.stdout + result.stderr
    where = Database(setup["database_url"]).describe()
    assert f"all good: Slack workspace Fake Slack as @releasebot with 10 scopes, 2 channels, 1 repository, database {where} at " in result.stdout
    assert fake.calls("conversations.info"), "the channels are asked of Slack"


def test_a_revoked_token_is_one_line_and_exit_1(setup, tmp_path):
    setup["fake"].fail_next("auth.test", error="token_revoked")
    assert doctor(setup) == [
        "SLACK_BOT_TOKEN: Slack refuses the token (token_revoked); copy the Bot User OAuth Token (xoxb-...) "
        "from the app's Install App page"
    ]
    setup["fake"].fail_next("auth.test", error="token_revoked")
    config = tmp_path / "releasebot.yml"
    config.write_text("products: []\n")
    env = {
        "PATH": "/usr/bin:/bin", "SLACK_BOT_TOKEN": setup["fake"].bot_token, "SLACK_API_URL": setup["fake"].api_url,
        "DATABASE_URL": setup["database_url"], "RELEASEBOT_CONFIG": str(config),
    }
    result = run(["doctor"], env)
    assert result.returncode == 1
    first, last = result.stdout.splitlines()
    assert first.startswith("SLACK_BOT_TOKEN: Slack refuses the token (token_revoked)") and last == "1 problem"


def test_a_missing_scope_is_one_line(setup, database_url):
    with FakeSlack(scopes=BOT_SCOPES - {"users:read.email"}) as fake:
        for channel in ("C0CHECKOUT", "C0FLAGS"):
            fake.add_channel(channel)
        assert doctor({**setup, "fake": fake}) == [
            "Slack scope users:read.email is not granted; add it under OAuth & Permissions -> Bot Token Scopes "
            "(manifest.yml lists them all) and reinstall the app"
        ]


def test_a_channel_without_the_bot_is_one_line_that_says_to_invite_it(setup):
    setup["fake"].add_channel("C0CHECKOUT", name="checkout-releases", bot_member=False)
    assert doctor(setup) == ["#checkout-releases (C0CHECKOUT): the bot is not a member; invite it with /invite @releasebot"]


def test_an_unknown_channel_is_one_line(setup):
    setup["flags"] = {"channel": "C0NOSUCH"}
    assert doctor(setup) == [
        "C0NOSUCH (flags.channel): no such channel, or a private one the bot is not in; "
        "check the id in the configuration, or invite the bot with /invite @releasebot"
    ]


def test_an_archived_channel_is_one_line(setup):
    setup["fake"].archive_channel("C0FLAGS")
    assert doctor(setup) == [
        "#c0flags (C0FLAGS): the channel is archived; unarchive it or name another channel in the configuration"
    ]


def test_a_repository_that_does_not_exist_is_one_line(setup, tmp_path):
    setup["products"][0]["repository"] = str(tmp_path / "nowhere")
    assert doctor(setup) == [
        f"checkout: repository {tmp_path / 'nowhere'} does not exist; fix products[0].repository or .branch in the configuration"
    ]


def test_a_wrong_branch_is_one_line_for_a_path_and_for_a_url(setup, repo):
    setup["products"][0]["branch"] = "release"
    setup["products"].append({**setup["products"][0], "key": "search", "repository": f"file://{repo.path}"})
    assert doctor(setup) == [
        f"checkout: repository {repo.path} has no branch release; fix products[0].repository or .branch in the configuration",
        f"search: repository file://{repo.path} has no branch release; fix products[1].repository or .branch in the configuration",
    ]


def test_an_unreachable_remote_repository_is_one_line(setup, tmp_path):
    setup["products"][0]["repository"] = f"file://{tmp_path}/gone.git"
    [problem] = doctor(setup)
    assert problem.startswith("checkout: ") and problem.endswith("; fix products[0].repository or .branch in the configuration")
    assert f"cannot read repository file://{tmp_path}/gone.git (" in problem


def test_an_outdated_database_is_one_line(setup, database_url):
    db = Database(database_url)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    db.dispose()
    [problem] = doctor(setup)
    assert problem.startswith("the database schema is at 0003 but this releasebot needs ")
    assert problem.endswith("; run `releasebot migrate`")


def test_an_unreachable_database_is_one_line(setup):
    setup["database_url"] = "postgresql+psycopg://postgres@127.0.0.1:1/releasebot"
    [problem] = doctor(setup)
    assert problem.startswith("cannot reach the database postgresql+psycopg://postgres@127.0.0.1:1/releasebot: ")


def test_a_missing_sqlite_file_is_said_and_not_created(setup, tmp_path):
    setup["database_url"] = f"sqlite:///{tmp_path}/new.db"
    assert doctor(setup) == [f"database sqlite:///{tmp_path}/new.db does not exist yet; run `releasebot migrate` (serve creates it too)"]
    assert not (tmp_path / "new.db").exists()


def test_a_message_slack_refused_for_good_is_listed_with_its_error(setup):
    import storage.outbox as outbox

    db = Database(setup["database_url"])
    with db.transaction() as session:
        outbox.enqueue(session, "channel:C0CHECKOUT", "channel", {"channel": "C0CHECKOUT", "text": "x"}, START)
        [item] = outbox.pending_in_lane(session, "channel:C0CHECKOUT")
        outbox.set_aside_item(session, item.id, START, "not_in_channel", "C0CHECKOUT")
    db.dispose()
    assert doctor(setup) == [
        "a channel message for C0CHECKOUT was set aside on 2026-11-17 14:00 UTC: Slack answered not_in_channel; "
        "fix that, and later messages go out"
    ]


def test_a_set_aside_message_whose_lane_delivered_since_is_no_problem(setup):
    import storage.outbox as outbox

    db = Database(setup["database_url"])
    with db.transaction() as session:
        outbox.enqueue(session, "channel:C0CHECKOUT", "channel", {"channel": "C0CHECKOUT", "text": "x"}, START)
        outbox.enqueue(session, "channel:C0CHECKOUT", "channel", {"channel": "C0CHECKOUT", "text": "y"}, START)
        first, second = outbox.pending_in_lane(session, "channel:C0CHECKOUT")
        outbox.set_aside_item(session, first.id, START, "not_in_channel", "C0CHECKOUT")
        outbox.mark_delivered(session, [second.id], START)  # the bot was invited: the next one went out
    db.dispose()
    assert doctor(setup) == []


def test_a_bad_configuration_is_one_line_per_problem_and_exit_1(tmp_path):
    config = tmp_path / "releasebot.yml"
    config.write_text("products:\n  - {key: Bad Key, name: X, channel: general, repository: /x}\n")
    result = run(["doctor"], {"PATH": "/usr/bin:/bin", "RELEASEBOT_CONFIG": str(config)})
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) >= 3 and lines[-1] == f"{len(lines) - 1} problems"
    assert any("products[0].channel" in line for line in lines) and "Traceback" not in result.stderr


def test_slack_answering_5xx_is_not_called_a_refused_token(setup):
    setup["fake"].fail_next("auth.test", count=5, status=503)
    [problem] = doctor(setup)
    assert "answered HTTP 503" in problem and "refuses the token" not in problem
