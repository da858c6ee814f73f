"""The `releasebot` command as an operator meets it: clear lines and exit codes, never a traceback."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from storage import Database
from tests.harness import free_port

VALID = "products:\n  - {key: checkout, name: Checkout, channel: C0CHECKOUT, repository: /srv/git/checkout}\n"


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


UNREACHABLE_SLACK = "http://127.0.0.1:9/api/"


@pytest.fixture
def environ(tmp_path, fake_slack) -> dict[str, str]:
    config = tmp_path / "releasebot.yml"
    config.write_text(VALID)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SLACK_", "RELEASEBOT_", "DATABASE_"))}
    env.update(
        SLACK_BOT_TOKEN=fake_slack.bot_token,
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=fake_slack.api_url,
        RELEASEBOT_CONFIG=str(config),
        DATABASE_URL=f"sqlite:///{tmp_path}/releasebot.db",
        RELEASEBOT_DB_WAIT="1",
        RELEASEBOT_SLACK_WAIT="1",
    )
    return env


def assert_one_clear_line(result: subprocess.CompletedProcess, expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("releasebot: ")]
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_the_console_script_lists_every_command():
    script = shutil.which("releasebot", path=str(Path(sys.executable).parent)) or shutil.which("releasebot")
    assert script, "pip install -e . should install the releasebot command"
    help_text = subprocess.run([script, "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("serve", "socket", "run-job", "migrate", "check-config", "doctor"):
        assert command in help_text


@pytest.mark.parametrize(
    "command, unset, expected",
    [
        ("serve", "SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET is not set"),
        ("serve", "SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is not set"),
        ("socket", "SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is not set"),
        ("run-job", "SLACK_BOT_TOKEN", "SLACK_BOT_TOKEN is not set"),
    ],
)
def test_a_missing_variable_stops_start_up_with_one_line(environ, command, unset, expected):
    environ["SLACK_APP_TOKEN"] = "xapp-test"
    del environ[unset]
    args = [command, "housekeeping"] if command == "run-job" else [command]
    assert_one_clear_line(run(args, environ), expected)


def test_socket_mode_needs_the_app_token(environ):
    assert_one_clear_line(run(["socket"], environ), "SLACK_APP_TOKEN is not set")


@pytest.mark.parametrize("command", [["serve"], ["socket"], ["run-job", "housekeeping"]])
def test_a_bad_configuration_stops_start_up_with_one_line(environ, tmp_path, command):
    environ["SLACK_APP_TOKEN"] = "xapp-test"
    Path(environ["RELEASEBOT_CONFIG"]).write_text("release_hours:\n  start: '25:00'\n")
    assert_one_clear_line(run(command, environ), "bad configuration: ")


START_COMMANDS = [["serve"], ["socket"], ["run-job", "housekeeping"]]


@pytest.mark.parametrize("command", START_COMMANDS)
def test_a_token_slack_refuses_stops_start_up_with_one_line(environ, command):
    environ["SLACK_APP_TOKEN"] = "xapp-test"
    environ["SLACK_BOT_TOKEN"] = "xoxb-revoked"
    assert_one_clear_line(run(command, environ), "SLACK_BOT_TOKEN: Slack refuses the token (invalid_auth); copy the Bot User")


def test_socket_mode_with_an_app_token_slack_refuses_is_one_line_within_30_seconds(environ):
    environ["SLACK_APP_TOKEN"] = "xapp-wrong"
    started = time.monotonic()
    result = run(["socket"], environ)
    assert time.monotonic() - started < 30
    assert_one_clear_line(result, "SLACK_APP_TOKEN: Slack refuses the app-level token (invalid_auth)")


@pytest.mark.parametrize("command", START_COMMANDS)
def test_an_unreachable_slack_stops_start_up_with_one_line(environ, command):
    environ.update(SLACK_APP_TOKEN="xapp-test", SLACK_API_URL=UNREACHABLE_SLACK)
    started = time.monotonic()
    result = run(command, environ)
    assert time.monotonic() - started < 30
    assert_one_clear_line(result, f"cannot reach Slack at {UNREACHABLE_SLACK} (")


def test_socket_stops_at_once_on_sigterm_while_slack_does_not_answer(environ):
    """A Slack that accepts the connection and never answers: the bot is inside the start-up check."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        silent.settimeout(30)
        environ.update(
            SLACK_APP_TOKEN="xapp-test", SLACK_API_URL=f"http://127.0.0.1:{silent.getsockname()[1]}/api/", RELEASEBOT_SLACK_WAIT="60"
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "socket", "--port", str(free_port())],
            env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        connection, _ = silent.accept()
        with connection:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=10) == 0
    assert "Traceback" not in process.stderr.read()


def test_socket_mode_whose_websocket_never_opens_is_one_line_and_stops_on_sigterm(environ, fake_slack):
    """Slack hands out a websocket URL nobody answers: slack_sdk alone would retry forever."""
    fake_slack.socket_url = f"ws://127.0.0.1:{free_port()}/socket"
    environ.update(SLACK_API_URL=fake_slack.api_url, SLACK_BOT_TOKEN=fake_slack.bot_token, SLACK_APP_TOKEN=fake_slack.app_token,
                   RELEASEBOT_SLACK_WAIT="3")
    started = time.monotonic()
    result = run(["socket", "--port", str(free_port())], environ, timeout=30)
    assert_one_clear_line(result, "the Socket Mode connection to Slack did not open within 3 s")
    assert time.monotonic() - started < 30
    assert not fake_slack.messages("C0CHECKOUT"), "nothing is scheduled before the connection opens"
    asked = len(fake_slack.calls("apps.connections.open"))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "socket", "--port", str(free_port())],
        env={**environ, "RELEASEBOT_SLACK_WAIT": "60"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 20
    # the start-up check asks for a URL, then the connection itself does
    while len(fake_slack.calls("apps.connections.open")) < asked + 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # waits for the process to reach the websocket, a condition, not a time
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    assert "Traceback" not in process.stderr.read()


def test_an_unreachable_database_stops_start_up_with_one_line(environ):
    environ["DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:1/releasebot"
    assert_one_clear_line(run(["serve"], environ), "cannot reach the database postgresql+psycopg://postgres@127.0.0.1:1")


def test_unknown_jobs_and_products_are_refused(environ):
    assert_one_clear_line(run(["run-job", "nonsense"], environ), "unknown job 'nonsense'; jobs: ")
    assert_one_clear_line(run(["run-job", "housekeeping", "--product", "nope"], environ), "unknown product 'nope'")


def test_run_job_runs_a_job_and_exits_0(environ):
    result = run(["run-job", "housekeeping"], environ)
    assert result.returncode == 0, result.stderr
    assert "forgot 0 old Slack event ids" in result.stdout


def test_migrate_upgrades_then_reports_up_to_date(environ, database_url):
    environ["DATABASE_URL"] = database_url
    first = run(["migrate"], environ)
    assert first.returncode == 0, first.stderr
    assert "migrated from empty to " in first.stdout
    second = run(["migrate"], environ)
    assert "is up to date" in second.stdout
    assert Database(database_url).schema_state().up_to_date


def test_serve_refuses_a_postgresql_schema_that_is_behind(environ, database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite is upgraded on start instead")
    environ["DATABASE_URL"] = database_url
    assert_one_clear_line(run(["serve"], environ), "run `releasebot migrate` first")


def test_serve_upgrades_sqlite_answers_health_and_stops_cleanly_on_sigterm(environ, tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "the bot did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert Database(environ["DATABASE_URL"]).schema_state().up_to_date
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_the_example_configuration_starts_with_one_warning_per_missing_repository_and_no_noise(environ, tmp_path):
    """Bolt's token warning and APScheduler's lines about adding jobs are noise an operator must not read."""
    environ["RELEASEBOT_CONFIG"] = str(Path(__file__).parent.parent / "releasebot.example.yml")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while not any("job daily-candidates" in line for line in lines):  # the catch-up run at start has finished
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        reader.join(timeout=5)
    stderr = "".join(lines)
    warnings = [line for line in lines if "WARNING" in line]
    assert len(warnings) == 1, stderr
    assert "products[0].repository (checkout): repository /srv/git/checkout does not exist" in warnings[0]
    assert "Traceback" not in stderr
    assert "token` will be unused" not in stderr
    assert "Added job" not in stderr and "Adding job" not in stderr


def test_run_job_daily_candidates_cuts_and_delivers_the_notice(environ, tmp_path, fake_slack, database_url):
    from tests.gitrepo import GitRepo

    # The subprocess runs on the wall clock, so the commit is dated from that same clock: an hour ago.
    repo = GitRepo(tmp_path / "repo")
    repo.commit("Add the basket", "dana@example.com", when=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    Path(environ["RELEASEBOT_CONFIG"]).write_text(
        f"products:\n  - {{key: checkout, name: Checkout, channel: C0CHECKOUT, repository: {repo.path}}}\n"
        "people:\n  dana@example.com: U0DANA\n"
    )
    environ.update(SLACK_API_URL=fake_slack.api_url, SLACK_BOT_TOKEN=fake_slack.bot_token, DATABASE_URL=database_url)
    if database_url.startswith("postgresql"):
        assert run(["migrate"], environ).returncode == 0
    first = run(["run-job", "daily-candidates", "--product", "checkout"], environ)
    assert first.returncode == 0, first.stderr
    assert "checkout: cut " in first.stdout and "with 1 changes by 1 engineers" in first.stdout
    [notice] = fake_slack.messages("C0CHECKOUT")
    assert "Add the basket" in str(notice["blocks"])
    assert fake_slack.dms("U0DANA"), "the release manager is told"
    again = run(["run-job", "daily-candidates"], environ)
    assert again.returncode == 0 and "no new changes" in again.stdout
    assert len(fake_slack.messages("C0CHECKOUT")) == 1


def test_run_job_fails_with_non_zero_when_a_repository_cannot_be_read(environ):
    result = run(["run-job", "daily-candidates"], environ)
    assert result.returncode == 1
    assert "repository /srv/git/checkout does not exist" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("variable, value, expected", [
    ("PORT", "abc", "PORT='abc' is not a port number"),
    ("RELEASEBOT_DB_WAIT", "soon", "RELEASEBOT_DB_WAIT='soon' is not a number of seconds or a duration like 30s"),
])
def test_a_malformed_environment_value_is_one_line_not_a_traceback(environ, variable, value, expected):
    environ[variable] = value
    assert_one_clear_line(run(["serve"], environ), expected)


def test_waits_may_be_written_as_durations(environ):
    environ.update(RELEASEBOT_DB_WAIT="1s", DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/releasebot")
    assert_one_clear_line(run(["serve"], environ), "cannot reach the database")
