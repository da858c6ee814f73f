"""`releasebot doctor`, and the Slack checks `serve`, `socket` and `run-job` make at start.

Each check is a plain function that returns problems, one line each saying what to do, so an
admin fixes a set-up in one pass; the CLI only prints them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.changes.git import RepositoryError, check_branch, local_problem
from bot.config import Config, Environment
from bot.slack.client import SlackClient, api_base_url, make_client
from bot.slack.scopes import BOT_SCOPES
import storage.outbox as outbox
from storage import Database, DatabaseUnavailable

UNREACHABLE = (aiohttp.ClientError, TimeoutError, OSError)

def set_aside_messages(db: Database) -> list[str]:
    """Messages Slack refused for good (see bot/slack/delivery.py) whose lane has not delivered
    since, so a cause already fixed is no longer reported: each says where and why."""
    with db.reading() as session:
        items = outbox.set_aside(session, unresolved=True)
    return [
        f"a {item.kind} message for {item.channel or item.user or item.lane} was set aside on "
        f"{item.set_aside_at:%Y-%m-%d %H:%M} UTC: Slack answered {item.error}; fix that, and later messages go out"
        for item in items
    ]


# Checks of what the database holds, each (Database) -> problems; they run once its schema is
# current. A new one is one more entry here.
DATABASE_CONTENT_CHECKS: tuple[Callable[[Database], list[str]], ...] = (set_aside_messages,)


@dataclass(frozen=True)
class Diagnosis:
    problems: list[str]
    summary: str


async def diagnose(env: Environment, config: Config) -> Diagnosis:
    problems: list[str] = []
    facts: list[str] = []
    if not env.slack_bot_token:
        problems.append("SLACK_BOT_TOKEN is not set; set it to the Bot User OAuth Token (xoxb-...) from the app's Install App page")
    else:
        slack = make_client(env.slack_bot_token, env.slack_api_url, max_retries=1, timeout=10)
        auth, refused = await check_token(slack, env.slack_api_url)
        if refused:
            problems.append(refused)
        else:
            granted = granted_scopes(auth.headers)
            problems += scope_problems(granted)
            problems += await channel_problems(slack, config, bot_name=auth.get("user") or "releasebot")
            facts.append(f"Slack workspace {auth.get('team')} as @{auth.get('user')} with {_count(len(granted), 'scope')}")
            facts.append(_count(len(configured_channels(config)), "channel"))
    problems += await asyncio.to_thread(repository_problems, config)
    facts.append(_count(len(config.products), "repository", "repositories"))
    database_problem_lines, revision = await asyncio.to_thread(database_problems, env.database_url)
    problems += database_problem_lines
    facts.append(f"database {revision}")
    return Diagnosis(problems, "all good: " + ", ".join(facts))


def _count(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else many or one + 's'}"


# ----------------------------------------------------------------- Slack


def token_problem(error: str) -> str:
    return (
        f"SLACK_BOT_TOKEN: Slack refuses the token ({error}); "
        "copy the Bot User OAuth Token (xoxb-...) from the app's Install App page"
    )


def app_token_problem(error: str) -> str:
    return (
        f"SLACK_APP_TOKEN: Slack refuses the app-level token ({error}); create one with the "
        "connections:write scope under Basic Information -> App-Level Tokens"
    )


def unreachable_problem(api_url: str | None, exc: BaseException) -> str:
    reason = str(exc) or type(exc).__name__
    return f"cannot reach Slack at {api_base_url(api_url)} ({reason}); check SLACK_API_URL and the network"


async def check_token(slack: SlackClient, api_url: str | None):
    """(auth.test's answer, None), or (None, the one line saying why the token cannot be used)."""
    try:
        return await slack.auth_test(), None
    except SlackApiError as exc:
        if exc.response.status_code >= 500 or exc.response.status_code == 429:
            return None, f"Slack at {api_url or 'slack.com'} answered HTTP {exc.response.status_code}; try again in a minute"
        return None, token_problem(exc.response.get("error", "unknown error"))
    except UNREACHABLE as exc:
        return None, unreachable_problem(api_url, exc)


def granted_scopes(headers) -> set[str]:
    """Slack names the token's scopes in every answer's x-oauth-scopes header."""
    value = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), "")
    return {scope.strip() for scope in value.split(",") if scope.strip()}


def scope_problems(granted: set[str]) -> list[str]:
    return [
        f"Slack scope {scope} is not granted; add it under OAuth & Permissions -> Bot Token Scopes "
        "(manifest.yml lists them all) and reinstall the app"
        for scope in sorted(BOT_SCOPES - granted)
    ]


def configured_channels(config: Config) -> dict[str, list[str]]:
    """Each channel id the configuration names, with where it is named."""
    channels: dict[str, list[str]] = {}
    for product in config.products:
        channels.setdefault(product.channel, []).append(f"the release channel of {product.key}")
    if config.flags.channel:
        channels.setdefault(config.flags.channel, []).append("flags.channel")
    return channels


async def channel_problems(slack: SlackClient, config: Config, *, bot_name: str) -> list[str]:
    problems = []
    for channel_id, uses in configured_channels(config).items():
        try:
            channel = (await slack.conversations_info(channel=channel_id))["channel"]
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown error")
            if error == "channel_not_found":
                problems.append(
                    f"{channel_id} ({', '.join(uses)}): no such channel, or a private one the bot is not in; "
                    f"check the id in the configuration, or invite the bot with /invite @{bot_name}"
                )
            else:
                problems.append(f"{channel_id} ({', '.join(uses)}): Slack answered {error} to conversations.info")
            continue
        name = f"#{channel.get('name', channel_id)} ({channel_id})"
        if channel.get("is_archived"):
            problems.append(f"{name}: the channel is archived; unarchive it or name another channel in the configuration")
        elif not channel.get("is_member"):
            problems.append(f"{name}: the bot is not a member; invite it with /invite @{bot_name}")
    return problems


async def startup_problem(env: Environment, *, socket_mode: bool, wait: float) -> str | None:
    """Why the bot cannot start with these tokens, or None. An unreachable Slack is tried again
    until `wait` seconds have passed; a refused token is said at once."""
    deadline = time.monotonic() + wait
    while True:
        remaining = deadline - time.monotonic()
        timeout = int(max(1, min(10, remaining)))
        bot = make_client(env.slack_bot_token, env.slack_api_url, max_retries=0, timeout=timeout)
        app = make_client(env.slack_app_token, env.slack_api_url, max_retries=0, timeout=timeout)
        refused = token_problem
        try:
            await bot.auth_test()
            if socket_mode:
                refused = app_token_problem
                await app.apps_connections_open(app_token=env.slack_app_token)
            return None
        except SlackApiError as exc:
            status = exc.response.status_code
            if status < 500 and status != 429:
                return refused(exc.response.get("error", "unknown error"))
            failure: BaseException = exc
        except UNREACHABLE as exc:
            failure = exc
        if time.monotonic() + 1 >= deadline:
            return unreachable_problem(env.slack_api_url, failure)
        await asyncio.sleep(1)


# ----------------------------------------------------------------- repositories and database


def repository_problems(config: Config) -> list[str]:
    problems = []
    for index, product in enumerate(config.products):
        try:
            check_branch(product.repository, product.branch)
        except RepositoryError as exc:
            problems.append(f"{product.key}: {exc}; fix products[{index}].repository or .branch in the configuration")
    return problems


def database_problems(url: str) -> tuple[list[str], str]:
    """(problems, what the summary says of the database). A missing SQLite file is not created."""
    db = Database(url)
    try:
        where = db.describe()
        if db.is_sqlite and db.url.database not in (None, "", ":memory:") and not Path(db.url.database).exists():
            return [f"database {where} does not exist yet; run `releasebot migrate` (serve creates it too)"], where
        try:
            db.wait_until_reachable(0)
        except DatabaseUnavailable as exc:
            return [f"cannot reach the database {where}: {exc}; check DATABASE_URL and that the server runs"], where
        state = db.schema_state()
        if not state.up_to_date:
            return [
                f"the database schema is at {state.current or 'nothing'} but this releasebot needs {state.head}; "
                "run `releasebot migrate`"
            ], where
        try:
            return [problem for check in DATABASE_CONTENT_CHECKS for problem in check(db)], f"{where} at {state.current}"
        except SQLAlchemyError as exc:
            return [f"the database {where} failed a check: {type(exc).__name__}"], where
    finally:
        db.dispose()


def local_repository_warnings(config: Config) -> list[str]:
    """What can be told of local repositories without the network: said at start and by check-config,
    which still pass, since a repository may appear later (a volume mounted only on the server)."""
    warnings = []
    for index, product in enumerate(config.products):
        problem = local_problem(product.repository)
        if problem:
            warnings.append(f"products[{index}].repository ({product.key}): {problem}; {product.key} cannot be cut until it is fixed")
    return warnings
