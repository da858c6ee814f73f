"""Typed settings: the YAML configuration file and the process environment.

Every problem in the file is reported at once, each with the line it is on, so an admin
fixes the file in one pass instead of one error per restart.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from bot.rollout_config import cross_problems
from storage import limits

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
PRODUCT_KEY = re.compile(r"^[a-z0-9-]+$")
ENVIRONMENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _clock_time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 9:30 as the number 570.
        raise ValueError('write times in quotes, like "09:30"')
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", str(value).strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{value!r} is not a time of day; use HH:MM from 00:00 to 23:59")
    return dt.time(int(match[1]), int(match[2]))


def _time_zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name like America/New_York") from None
    return str(value)


def _pattern(pattern: re.Pattern[str], what: str, example: str, max_length: int | None = None):
    """`max_length` is the width of the column the value is stored in."""

    def check(value: Any) -> str:
        if isinstance(value, str) and max_length is not None and len(value) > max_length:
            raise ValueError(f"{value[:24]!r}... is {len(value)} characters long; {what} has at most {max_length}")
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {what} (like {example})")
        return value

    return BeforeValidator(check)


DURATION = re.compile(r"^(\d+)([smhd])$")
DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: Any) -> dt.timedelta:
    """Durations are written 30s, 10m, 3h or 2d."""
    if isinstance(value, dt.timedelta):
        return value
    match = DURATION.match(str(value).strip())
    if not match or int(match[1]) == 0:
        raise ValueError(f"{value!r} is not a duration; write it like 30s, 10m, 3h or 2d")
    return dt.timedelta(**{DURATION_UNITS[match[2]]: int(match[1])})


ClockTime = Annotated[dt.time, BeforeValidator(_clock_time)]
Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]
TimeZoneName = Annotated[str, BeforeValidator(_time_zone)]
ChannelId = Annotated[str, _pattern(CHANNEL_ID, "a Slack channel id", "C0123ABCD", limits.SLACK_ID)]
UserId = Annotated[str, _pattern(USER_ID, "a Slack user id", "U0123ABCD", limits.SLACK_ID)]
ProductKey = Annotated[str, _pattern(PRODUCT_KEY, "a product key of a-z, 0-9 and -", "checkout", limits.PRODUCT_KEY)]
EnvironmentName = Annotated[str, _pattern(ENVIRONMENT_NAME, "an environment name", "staging", limits.ENVIRONMENT)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReleaseHours(_Section):
    timezone: TimeZoneName = "America/New_York"
    days: list[Weekday] = Field(default=["mon", "tue", "wed", "thu"], min_length=1)
    start: ClockTime = dt.time(8, 0)
    end: ClockTime = dt.time(16, 0)
    holidays: str | None = "US"

    @model_validator(mode="after")
    def _check(self) -> ReleaseHours:
        if self.end <= self.start:
            raise ValueError("release_hours.end must be later than release_hours.start")
        country = self.holidays
        if country is not None and country.lower() != "none" and country not in holidays.list_supported_countries():
            raise ValueError(f"unknown holidays country {country!r}; use a code like US, or none")
        return self

    @property
    def holiday_country(self) -> str | None:
        return None if self.holidays is None or self.holidays.lower() == "none" else self.holidays


class DailyCandidates(_Section):
    time: ClockTime = dt.time(9, 0)
    days: list[Weekday] = Field(default=["mon", "tue", "wed", "thu", "fri"], min_length=1)


class ReleaseManagerSettings(_Section):
    preferred_timezone: TimeZoneName = "America/New_York"


class Reminders(_Section):
    """When pending engineers are reminded, in their own Slack time zone, and the release manager told."""

    pending_after: Duration = dt.timedelta(hours=3)
    working_hours: list[ClockTime] = Field(default=[dt.time(9, 0), dt.time(18, 0)], min_length=2, max_length=2)
    escalate_after: Duration = dt.timedelta(days=1)

    @model_validator(mode="after")
    def _check(self) -> Reminders:
        if self.working_hours[1] <= self.working_hours[0]:
            raise ValueError("reminders.working_hours: the end must be later than the start, like [\"09:00\", \"18:00\"]")
        return self


class DeployHook(_Section):
    """Called on release; the body is signed with the secret read from the variable `secret_env`."""

    url: Annotated[str, _pattern(re.compile(r"^https?://\S+$"), "an http(s) URL", "https://deploy.example.com/hook")]
    secret_env: Annotated[str, _pattern(re.compile(r"^[A-Z_][A-Z0-9_]*$"), "an environment variable name", "CHECKOUT_HOOK_SECRET")]


class Product(_Section):
    key: ProductKey
    name: str = Field(min_length=1, max_length=80)
    channel: ChannelId
    repository: str = Field(min_length=1)
    branch: str = Field(default="main", min_length=1)
    admins: list[UserId] = []
    deploy_hook: DeployHook | None = None


def _url(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"https?://\S+", value):
        raise ValueError(f"{value!r} is not an http(s) URL (like http://127.0.0.1:9090)")
    return value.rstrip("/")


PrometheusUrl = Annotated[str, BeforeValidator(_url)]


class RolloutCheck(_Section):
    """A PromQL instant query; `{flag}` and `{env}` are replaced. Fails above `max` or below `min`."""

    name: str = Field(min_length=1, max_length=80)
    query: str = Field(min_length=1)
    max: float | None = None
    min: float | None = None
    on_fail: Literal["pause", "rollback", "off"] = "pause"

    @model_validator(mode="after")
    def _bound(self) -> RolloutCheck:
        if (self.max is None) == (self.min is None):
            raise ValueError(f"check {self.name!r} needs exactly one of max: or min:")
        return self


class RolloutStage(_Section):
    name: str = Field(min_length=1, max_length=40)
    segments: list[str] = []
    percent: int = Field(default=0, ge=0, le=100)
    bake: Duration | None = None


class RolloutTemplate(_Section):
    approvals: list[str] = []
    advance: Literal["manual", "auto"] = "manual"
    checks: list[RolloutCheck] = []
    stages: list[RolloutStage] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> RolloutTemplate:
        if len(set(self.approvals)) != len(self.approvals):
            raise ValueError("approvals names a role twice; each role approves once")
        names = [stage.name for stage in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("two stages have the same name")
        return self


SEGMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class Flags(_Section):
    environments: list[EnvironmentName] = ["staging", "production"]
    default_environment: EnvironmentName = "staging"
    protected: list[EnvironmentName] = ["production"]
    channel: ChannelId | None = None
    segments: dict[str, dict] = {}  # name -> JsonLogic over the evaluation context, flagd's `$evaluators`
    approvers: dict[str, list[UserId]] = {}  # role -> who may approve a rollout plan as that role
    prometheus_url: PrometheusUrl | None = None
    rollout_templates: dict[str, RolloutTemplate] = {}

    @model_validator(mode="after")
    def _check(self) -> Flags:
        for name, rule in self.segments.items():
            if not SEGMENT_NAME.match(name):
                raise ValueError(f"flags.segments: {name!r} is not a segment name (a-z, 0-9, '_' and '-')")
            if len(rule) != 1:
                raise ValueError(f"flags.segments.{name} must be one JsonLogic operation, like {{ends_with: [{{var: email}}, \"@example.com\"]}}")
        if len(set(self.environments)) != len(self.environments):
            raise ValueError("flags.environments lists an environment twice")
        if self.default_environment not in self.environments:
            raise ValueError(f"flags.default_environment {self.default_environment!r} is not in flags.environments")
        unknown = [env for env in self.protected if env not in self.environments]
        if unknown:
            raise ValueError(f"flags.protected names {', '.join(unknown)}, not in flags.environments")
        return self


class Digest(_Section):
    """The weekly digest in each product channel, at this day and time in release_hours.timezone."""

    day: Weekday = "fri"
    time: ClockTime = dt.time(15, 0)


class Stats(_Section):
    """A release counts as failed when a failure signal follows it within `failure_window`."""

    failure_window: Duration = dt.timedelta(days=1)


class Config(_Section):
    release_hours: ReleaseHours = ReleaseHours()
    daily_candidates: DailyCandidates = DailyCandidates()
    release_manager: ReleaseManagerSettings = ReleaseManagerSettings()
    reminders: Reminders = Reminders()
    admins: list[UserId] = []
    products: list[Product] = []
    people: dict[str, UserId] = {}
    flags: Flags = Flags()
    digest: Digest = Digest()
    stats: Stats = Stats()

    def product(self, key: str) -> Product | None:
        return next((p for p in self.products if p.key == key), None)

    def product_for_channel(self, channel_id: str) -> Product | None:
        return next((p for p in self.products if p.channel == channel_id), None)

    def is_admin(self, user_id: str, product: Product | None = None) -> bool:
        return user_id in self.admins or (product is not None and user_id in product.admins)

    @cached_property
    def people_by_email(self) -> dict[str, str]:
        return {email.lower(): user for email, user in self.people.items()}


def load_config(path: str | Path) -> Config:
    """Read and validate the YAML file; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the configuration file ({exc.strerror})"]) from None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError([f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: the configuration must be a mapping of sections"])
    problems = _duplicate_products(path, root, data)
    problems += [_located(path, root, where, message) for where, message in cross_problems(data.get("flags"))]
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        problems += [_describe(path, root, error) for error in exc.errors()]
    if problems:
        raise ConfigError(sorted(problems, key=_line_number))
    return config


def _duplicate_products(path: Path, root: yaml.Node | None, data: dict) -> list[str]:
    """Checked on the raw data so a duplicate is reported even beside other errors in the products."""
    products = data.get("products")
    if not isinstance(products, list):
        return []
    problems, seen = [], set()
    for index, product in enumerate(products):
        key = product.get("key") if isinstance(product, dict) else None
        if isinstance(key, str) and key in seen:
            line = _line_of(root, ["products", index, "key"])
            problems.append(f"{path}:{line}: products[{index}].key: product key {key!r} is used twice")
        seen.add(key)
    return problems


def _located(path: Path, root: yaml.Node | None, location: list, message: str) -> str:
    dotted = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
    return f"{path}:{_line_of(root, location)}: {dotted}: {message}"


def _line_number(problem: str) -> int:
    match = re.match(r"^.*?:(\d+): ", problem)
    return int(match[1]) if match else 0


def _describe(path: Path, root: yaml.Node | None, error: dict) -> str:
    location = [part for part in error["loc"] if not _is_validator_tag(part)]
    dotted = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location).lstrip(".")
    line = _line_of(root, location)
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "literal_error" and location and isinstance(location[-1], int):
        message = f"unknown weekday {error['input']!r}; use {', '.join(WEEKDAYS)}"
    where = f"{path}:{line}" if line else str(path)
    return f"{where}: {dotted or '(top)'}: {message}"


def _is_validator_tag(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or part.startswith("function-"))


def _line_of(node: yaml.Node | None, location: list) -> int | None:
    """The 1-based line of the YAML node at `location`, or of its nearest parent."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in location:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is None:
                return line
            line = pair[0].start_mark.line + 1
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


@dataclass(frozen=True)
class Environment:
    """The process environment variables of PRODUCT.md."""

    slack_bot_token: str | None
    slack_signing_secret: str | None
    slack_app_token: str | None
    slack_api_url: str | None
    database_url: str
    config_path: str
    api_token: str | None

    @classmethod
    def from_os(cls, environ: dict[str, str] | None = None) -> Environment:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(name) or None

        return cls(
            slack_bot_token=get("SLACK_BOT_TOKEN"),
            slack_signing_secret=get("SLACK_SIGNING_SECRET"),
            slack_app_token=get("SLACK_APP_TOKEN"),
            slack_api_url=get("SLACK_API_URL"),
            database_url=get("DATABASE_URL") or "sqlite:///releasebot.db",
            config_path=get("RELEASEBOT_CONFIG") or "releasebot.yml",
            api_token=get("RELEASEBOT_API_TOKEN"),
        )

    def missing(self, *names: str) -> list[str]:
        """The names among `names` whose variable is unset."""
        values = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
            "SLACK_APP_TOKEN": self.slack_app_token,
        }
        return [name for name in names if not values[name]]
