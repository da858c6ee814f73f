"""The YAML configuration: typed, validated, every problem reported with its line."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from bot.cli import main
from bot.config import ConfigError, Environment, load_config

VALID = """\
release_hours:
  timezone: America/New_York
  days: [mon, tue, wed, thu]
  start: "08:00"
  end: "16:00"
  holidays: US
daily_candidates:
  time: "09:00"
  days: [mon, tue, wed, thu, fri]
release_manager:
  preferred_timezone: America/New_York
admins: [U0ADMIN]
products:
  - key: checkout
    name: Checkout
    channel: C0CHECKOUT
    repository: /srv/git/checkout
    branch: main
    admins: [U0LEAD]
people:
  dana@example.com: U0DANA
flags:
  environments: [staging, production]
  default_environment: staging
  protected: [production]
  channel: C0FLAGS
"""


def write(tmp_path, text: str):
    path = tmp_path / "releasebot.yml"
    path.write_text(textwrap.dedent(text))
    return path


def problems_of(tmp_path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return caught.value.problems


def test_the_product_brief_example_loads_into_typed_settings(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert config.release_hours.start == dt.time(8, 0)
    assert config.release_hours.days == ["mon", "tue", "wed", "thu"]
    assert config.daily_candidates.time == dt.time(9, 0)
    assert config.product("checkout").channel == "C0CHECKOUT"
    assert config.product_for_channel("C0CHECKOUT").key == "checkout"
    assert config.people_by_email == {"dana@example.com": "U0DANA"}
    assert config.is_admin("U0LEAD", config.product("checkout"))
    assert not config.is_admin("U0LEAD")
    assert config.flags.protected == ["production"]


def test_an_empty_file_means_the_defaults(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert config.products == []
    assert config.release_hours.timezone == "America/New_York"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("release_hours:\n  start: '25:00'\n", ":2: release_hours.start: '25:00' is not a time of day"),
        ("release_hours:\n  start: 9:30\n", ':2: release_hours.start: write times in quotes, like "09:30"'),
        ("release_hours:\n  timezone: Mars/Olympus\n", ":2: release_hours.timezone: unknown time zone 'Mars/Olympus'"),
        ("daily_candidates:\n  days: [mon, funday]\n", ":2: daily_candidates.days[1]: unknown weekday 'funday'"),
        ("colour: blue\n", ":1: colour: unknown key"),
        ("release_hours:\n  holidays: XX\n", "unknown holidays country 'XX'"),
        ("release_hours:\n  start: '17:00'\n", "release_hours.end must be later than release_hours.start"),
        ("flags:\n  default_environment: qa\n", "flags.default_environment 'qa' is not in flags.environments"),
        ("admins: [dana]\n", ":1: admins[0]: 'dana' is not a Slack user id"),
        ("daily_candidates:\n  days: []\n", ":2: daily_candidates.days: List should have at least 1 item"),
        ("release_hours:\n  days: []\n", ":2: release_hours.days: List should have at least 1 item"),
        # no longer than the database columns they are stored in
        (
            f"products:\n  - key: {'k' * 65}\n    name: K\n    channel: C0K\n    repository: /r\n",
            ":2: products[0].key: 'kkkkkkkkkkkkkkkkkkkkkkkk'... is 65 characters long; a product key of a-z, 0-9 and - has at most 64",
        ),
        (f"flags:\n  environments: [staging, {'e' * 33}]\n", ":2: flags.environments[1]: 'eeeeeeeeeeeeeeeeeeeeeeee'... is 33"),
        (f"admins: [U0ADMIN, U{'A' * 32}]\n", ":1: admins[1]: 'UAAAAAAAAAAAAAAAAAAAAAAA'... is 33 characters long; a Slack user id has at most 32"),
        (f"people:\n  dana@example.com: U{'A' * 32}\n", ":2: people.dana@example.com: 'UAAAAAAAAAAAAAAAAAAAAAAA'... is 33"),
        (f"flags:\n  channel: C{'A' * 32}\n", ":2: flags.channel: 'CAAAAAAAAAAAAAAAAAAAAAAA'... is 33"),
    ],
)
def test_each_problem_is_named_with_its_line(tmp_path, text, expected):
    problems = problems_of(tmp_path, text)
    assert any(expected in problem for problem in problems), problems


def test_names_as_long_as_their_columns_are_accepted(tmp_path):
    key, environment = "k" * 64, "e" * 32
    config = load_config(write(
        tmp_path,
        f"products:\n  - {{key: {key}, name: K, channel: C0K, repository: /r}}\n"
        f"flags:\n  environments: [{environment}]\n  default_environment: {environment}\n  protected: []\n",
    ))
    assert config.product(key) is not None and config.flags.environments == [environment]


def test_every_problem_is_reported_at_once(tmp_path):
    problems = problems_of(
        tmp_path,
        """\
        products:
          - key: checkout
            name: Checkout
            channel: general
            repository: /srv/git/checkout
          - key: checkout
            name: Again
            channel: C0AGAIN
            repository: /srv/git/again
            colour: red
        """,
    )
    assert problems == [
        f"{tmp_path}/releasebot.yml:4: products[0].channel: 'general' is not a Slack channel id (like C0123ABCD)",
        f"{tmp_path}/releasebot.yml:6: products[1].key: product key 'checkout' is used twice",
        f"{tmp_path}/releasebot.yml:10: products[1].colour: unknown key",
    ]


def test_broken_yaml_and_missing_files_are_problems_not_tracebacks(tmp_path):
    assert "not valid YAML" in problems_of(tmp_path, "products: [\n")[0]
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(tmp_path / "missing.yml")


def test_check_config_prints_a_summary_and_exits_0(tmp_path, capsys):
    (tmp_path / "checkout" / ".git").mkdir(parents=True)
    assert main(["check-config", str(write(tmp_path, VALID.replace("/srv/git/checkout", str(tmp_path / "checkout"))))]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "is valid: 1 product" in out


def test_check_config_warns_of_a_repository_path_that_does_not_exist_and_still_exits_0(tmp_path, capsys):
    path = write(tmp_path, VALID)
    assert main(["check-config", str(path)]) == 0
    warning, summary = capsys.readouterr().out.splitlines()
    assert warning == (
        f"{path}: warning: products[0].repository (checkout): repository /srv/git/checkout does not exist; "
        "checkout cannot be cut until it is fixed"
    )
    assert "is valid: 1 product" in summary


def test_check_config_prints_every_problem_and_exits_1(tmp_path, capsys):
    path = write(tmp_path, "colour: blue\nrelease_hours:\n  end: '24:00'\n")
    assert main(["check-config", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{path}:1: colour: unknown key",
        f"{path}:3: release_hours.end: '24:00' is not a time of day; use HH:MM from 00:00 to 23:59",
        f"2 problems in {path}",
    ]


def test_check_config_reads_releasebot_config_when_no_path_is_given(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RELEASEBOT_CONFIG", str(write(tmp_path, VALID)))
    assert main(["check-config"]) == 0
    assert "is valid" in capsys.readouterr().out


def test_environment_defaults_follow_the_contract():
    env = Environment.from_os({})
    assert env.database_url == "sqlite:///releasebot.db"
    assert env.config_path == "releasebot.yml"
    assert env.api_token is None and env.slack_api_url is None
    assert env.missing("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET") == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]
