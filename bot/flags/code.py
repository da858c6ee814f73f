"""Flags as code: flagd definitions put through the API (bearer token, acting as an admin). Each
request is one transaction: checked whole first (nothing changes when a definition cannot be a
flag), then every flag it names is created or replaced, recorded with actor `api`, announced,
and seen by the next evaluation (the shared version is bumped)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import storage.flags as store
from bot.config import Config
from bot.errors import Refused
from bot.flags import definitions, validation
from bot.flags.evaluation import resolve_refs
from bot.flags.model import Flag, FlagType
from bot.flags.service import _announce, _environment
from storage import Database
from storage.flags import FlagChange

ACTOR = "api"
API_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # flagd keys may have capitals; Slack-made ones do not


class Invalid(Exception):
    """Definitions that cannot be flags: every problem, each naming its flag."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class Applied:
    environment: str
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"environment": self.environment, "created": self.created, "changed": self.changed,
                "unchanged": self.unchanged, "warnings": self.warnings}


def definition(db: Database, config: Config, environment: str, key: str) -> dict:
    environment = _environment(config, environment)
    with db.reading() as session:
        flag = store.get(session, key)
    if flag is None or flag.archived:
        raise Refused("There is no flag `{key}`.", key=key[:70])
    return flag.definition(environment)


def put_flag(db: Database, config: Config, environment: str, key: str, body: object, now: dt.datetime) -> Applied:
    return put_document(db, config, environment, {"flags": {key: body}}, now)


def put_document(db: Database, config: Config, environment: str, document: object, now: dt.datetime) -> Applied:
    environment = _environment(config, environment)
    flags, warnings = _checked(config, document)
    applied = Applied(environment, warnings=warnings)
    with db.transaction() as session:
        for key, new in flags.items():
            flag = store.get(session, key, lock=True)
            variants = None if definitions.is_boolean(new["variants"]) else new["variants"]
            if flag is None:
                flag = Flag(key=key, type=FlagType.RELEASE, description="", owner=ACTOR, created_by=ACTOR, created_at=now, variants=variants)
                store.create(session, flag)
                store.record_change(session, FlagChange(key, None, now, ACTOR, "create", None, {"type": "release", "description": ""}, None, None))
                _announce(session, config, {"event": "flag_created", "by": ACTOR, "type": "release", "key": key, "description": ""}, now)
                applied.created.append(key)
            elif flag.archived:
                store.unarchive(session, key)
            before = flag.definition(environment)
            if before == new and key not in applied.created:
                applied.unchanged.append(key)
                continue
            store.set_definition(session, key, environment, new, ACTOR, now)
            store.set_variants(session, key, variants)
            store.record_change(session, FlagChange(key, environment, now, ACTOR, "define", before, new, "replace the definition", None))
            defined = {
                "event": "flag_defined", "key": key, "environment": environment, "by": ACTOR,
                "state": definitions.describe(new), "before": definitions.describe(before),
            }
            _announce(session, config, defined, now)
            if key not in applied.created:
                applied.changed.append(key)
        if applied.created or applied.changed:
            store.bump_version(session)
    return applied


def archive(db: Database, config: Config, key: str, now: dt.datetime) -> None:
    with db.transaction() as session:
        flag = store.get(session, key, lock=True)
        if flag is None or flag.archived:
            raise Refused("There is no flag `{key}`.", key=key[:70])
        store.archive(session, key, now)
        store.bump_version(session)
        store.record_change(session, FlagChange(key, None, now, ACTOR, "archive", None, None, None, None))
        _announce(session, config, {"event": "flag_archived", "by": ACTOR, "key": key}, now)


def _checked(config: Config, document: object) -> tuple[dict[str, dict], list[str]]:
    """The document's flags with its own `$evaluators` resolved (segment refs kept), and the
    warnings; Invalid naming every problem when any definition cannot be a flag."""
    if not isinstance(document, dict) or not isinstance(document.get("flags"), dict):
        raise Invalid(['the body must be a flagd document: {"flags": {"<key>": {...}}, "$evaluators": {...}}'])
    evaluators = document.get("$evaluators") or {}
    if not isinstance(evaluators, dict):
        raise Invalid(["$evaluators must be an object of name -> JsonLogic rule"])
    problems: list[str] = []
    warnings: list[str] = []
    set_metadata = document.get("metadata") or {}
    if not isinstance(set_metadata, dict) or any(not isinstance(v, (str, int, float, bool)) for v in set_metadata.values()):
        raise Invalid(["metadata (the flag set's) must be an object of string, number or boolean values"])
    for name, rule in evaluators.items():
        warnings += validation.check_evaluator(name, rule)
    known = set(evaluators) | set(config.flags.segments)
    flags: dict[str, dict] = {}
    for key, body in document["flags"].items():
        if not isinstance(key, str) or not API_KEY.match(key):
            problems.append(f"{key[:70]!r}: not a flag key (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64)")
            continue
        found, warned = validation.check(body, known)
        problems += [f"{key}: {problem}" for problem in found]
        warnings += [f"{key}: {warning}" for warning in warned]
        if not found:
            flag = {name: value for name, value in body.items() if name in ("state", "variants", "defaultVariant", "targeting", "metadata")}
            if evaluators and "targeting" in flag:
                flag["targeting"] = resolve_refs(flag["targeting"], evaluators)
            if set_metadata:  # flagd's flag-set metadata: every flag carries it, its own keys winning
                flag["metadata"] = {**set_metadata, **(flag.get("metadata") or {})}
            flags[key] = flag
    if problems:
        raise Invalid(problems)
    return flags, warnings
