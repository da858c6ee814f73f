"""Evaluation of flagd flag definitions with flagd's semantics, and the flagd.json export.

The JsonLogic of `targeting` and flagd's operators (`fractional`, `sem_ver`, `starts_with`,
`ends_with`) are openfeature-flagd-core's own (2.x; `fractional` hashes the canonical CBOR of
[flag key, targeting key], flagd's "fractional-v3"). The flag around it follows flagd's evaluator
and is prepared once per snapshot, so a flag without targeting is a dict look-up:

- DISABLED: no value (OFREP's code default: the caller's default applies), reason DISABLED;
- no targeting: the default variant, reason STATIC (no default variant: the caller's, DEFAULT);
- targeting that yields a variant: that variant, TARGETING_MATCH; yields null: the default
  variant, DEFAULT; no default variant: no value (caller's default), DEFAULT;
- a variant that is not among the variants: ERROR GENERAL; an unknown operator: PARSE_ERROR.

`$ref` names an entry of the snapshot's `$evaluators` (the configured segments), replaced before
evaluation as flagd does when it loads a document.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from json_logic import jsonLogic
from openfeature.contrib.tools.flagd.core.targeting.targeting import OPERATORS

from bot.flags.model import FlagSnapshot

SCHEMA = "https://flagd.dev/schema/v0/flags.json"

STATIC = "STATIC"
TARGETING_MATCH = "TARGETING_MATCH"
DEFAULT = "DEFAULT"
DISABLED = "DISABLED"
ERROR = "ERROR"

FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
PARSE_ERROR = "PARSE_ERROR"
GENERAL = "GENERAL"
INVALID_CONTEXT = "INVALID_CONTEXT"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One answer. A success has a reason and, unless `code_default`, a value and its variant; a
    failure has reason ERROR, an OpenFeature error code and details."""

    key: str
    value: Any
    variant: str | None
    reason: str
    error_code: str | None = None
    error_details: str | None = None
    metadata: Mapping[str, Any] | None = None
    code_default: bool = False


def context_problem(context: Any) -> str | None:
    """Why an evaluation context is unusable (OFREP's INVALID_CONTEXT), or None when it is fine."""
    if not isinstance(context, dict):
        return "context must be a JSON object"
    key = context.get("targetingKey")
    if key is not None and not isinstance(key, str):
        return f"targetingKey must be a string, not {type(key).__name__}"
    return None


def flagd_document(snapshot: FlagSnapshot) -> dict:
    """The environment as a flagd flag-definition document, segments as `$evaluators`."""
    document: dict[str, Any] = {
        "$schema": SCHEMA,
        "metadata": {"flagSetId": f"releasebot/{snapshot.environment}", "version": str(snapshot.version)},
        "flags": {key: snapshot.flags[key] for key in sorted(snapshot.flags)},
    }
    if snapshot.evaluators:
        document["$evaluators"] = dict(snapshot.evaluators)
    return document


def resolve_refs(rule: Any, evaluators: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """The rule with every {"$ref": name} replaced by its evaluator (nested ones too); an unknown
    name is left as it is, so it evaluates to flagd's error for an unknown operator."""
    if isinstance(rule, list):
        return [resolve_refs(item, evaluators, seen) for item in rule]
    if not isinstance(rule, dict):
        return rule
    if list(rule) == ["$ref"] and isinstance(rule["$ref"], str) and rule["$ref"] in evaluators and rule["$ref"] not in seen:
        return resolve_refs(evaluators[rule["$ref"]], evaluators, (*seen, rule["$ref"]))
    return {op: resolve_refs(args, evaluators, seen) for op, args in rule.items()}


def evaluate(snapshot: FlagSnapshot, key: str, context: Mapping[str, Any]) -> Evaluation:
    """The flag `key` of the snapshot for an evaluation context (OFREP's `context` object)."""
    rule = _rules(snapshot).get(key)
    if rule is None:
        return Evaluation(key, None, None, ERROR, FLAG_NOT_FOUND, f"flag {key!r} does not exist in {snapshot.environment}")
    return rule(context)


def evaluate_all(snapshot: FlagSnapshot, context: Mapping[str, Any]) -> list[Evaluation]:
    """Every flag of the snapshot, in key order, for one context (OFREP's bulk evaluation)."""
    return [rule(context) for rule in _rules(snapshot).values()]


Rule = Callable[[Mapping[str, Any]], Evaluation]

_built: dict[str, tuple[FlagSnapshot, dict[str, Rule]]] = {}
_building = threading.Lock()


def _rules(snapshot: FlagSnapshot) -> dict[str, Rule]:
    """The rules of the newest snapshot of each environment, kept until the next snapshot."""
    built = _built.get(snapshot.environment)
    if built is not None and built[0] is snapshot:
        return built[1]
    with _building:
        built = _built.get(snapshot.environment)
        if built is None or built[0] is not snapshot:
            rules = {key: rule(key, snapshot.flags[key], snapshot.evaluators) for key in sorted(snapshot.flags)}
            built = (snapshot, rules)
            _built[snapshot.environment] = built
    return built[1]


def rule(key: str, definition: Mapping[str, Any], evaluators: Mapping[str, Any] | None = None) -> Rule:
    """One flag's evaluation, prepared once: everything but the targeting is decided here."""
    variants = definition.get("variants") or {}
    metadata = dict(definition.get("metadata") or {})
    if definition.get("state") == "DISABLED":
        disabled = Evaluation(key, None, None, DISABLED, metadata=metadata, code_default=True)
        return lambda _context: disabled
    default_name = definition.get("defaultVariant") or None
    if default_name is not None and default_name not in variants:
        broken = Evaluation(key, None, None, ERROR, GENERAL, f"default variant {default_name!r} is not among the variants", metadata)

        return lambda _context: broken

    def fallback(reason: str) -> Evaluation:
        if default_name is None:
            return Evaluation(key, None, None, reason, metadata=metadata, code_default=True)
        return Evaluation(key, variants[default_name], default_name, reason, metadata=metadata)

    targeting = definition.get("targeting")
    if not targeting:
        static = fallback(STATIC if default_name is not None else DEFAULT)
        return lambda _context: static
    default = fallback(DEFAULT)
    matches = {name: Evaluation(key, value, name, TARGETING_MATCH, metadata=metadata) for name, value in variants.items()}
    logic = resolve_refs(targeting, evaluators or {})

    def targeted(context: Mapping[str, Any]) -> Evaluation:
        data = dict(context)
        data["$flagd"] = {"flagKey": key, "timestamp": int(time.time())}
        data.setdefault("targetingKey", None)
        try:
            variant = jsonLogic(logic, data, OPERATORS)
        except ReferenceError as exc:
            return Evaluation(key, None, None, ERROR, PARSE_ERROR, f"invalid targeting: {exc}", metadata)
        except Exception as exc:  # noqa: BLE001 - a rule that cannot run is flagd's general error
            return Evaluation(key, None, None, ERROR, GENERAL, f"targeting failed: {exc}", metadata)
        if variant is None:
            return default
        name = ("true" if variant else "false") if isinstance(variant, bool) else variant if isinstance(variant, str) else str(variant)
        found = matches.get(name)
        if found is None:
            return Evaluation(key, None, None, ERROR, GENERAL, f"targeting resolved the variant {name!r}, not among the variants", metadata)
        return found

    return targeted
