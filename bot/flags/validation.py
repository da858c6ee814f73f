"""Definitions checked as flagd checks them. What cannot be a flag (bot/flags/definitions.py
`problems`) is refused; what flagd's own JSON schema rejects but flagd still loads (an unknown
operator, wrong argument counts, a `$ref` to no evaluator) is accepted with warnings, and
evaluates to the error flagd gives. The schemas are flagd-schemas' (bot/flags/schemas/)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from bot.flags.definitions import problems

FLAGS_SCHEMA = "https://flagd.dev/schema/v0/flags.json"
TARGETING_SCHEMA = "https://flagd.dev/schema/v0/targeting.json"


@cache
def _validators() -> tuple[Draft7Validator, Draft7Validator]:
    folder = resources.files("bot.flags") / "schemas"
    flags = json.loads((folder / "flags.json").read_text())
    targeting = json.loads((folder / "targeting.json").read_text())
    registry = Registry().with_resources(
        [(FLAGS_SCHEMA, Resource.from_contents(flags)), (TARGETING_SCHEMA, Resource.from_contents(targeting))]
    )
    flag = Draft7Validator({"$ref": f"{FLAGS_SCHEMA}#/definitions/anyFlag"}, registry=registry)
    rule = Draft7Validator({"$ref": TARGETING_SCHEMA}, registry=registry)
    return flag, rule


def _refs(rule: Any) -> set[str]:
    if isinstance(rule, list):
        return set().union(*(_refs(item) for item in rule)) if rule else set()
    if isinstance(rule, dict):
        if list(rule) == ["$ref"] and isinstance(rule["$ref"], str):
            return {rule["$ref"]}
        return set().union(*(_refs(value) for value in rule.values())) if rule else set()
    return set()


def check(definition: Any, evaluators: set[str] | frozenset[str] = frozenset()) -> tuple[list[str], list[str]]:
    """(problems, warnings) of one flag definition; `evaluators` are the `$ref` names known."""
    found = problems(definition)
    if found:
        return found, []
    flag_validator, rule_validator = _validators()
    bare = {key: value for key, value in definition.items() if key != "targeting"}
    warnings = [_said(error) for error in [best_match(flag_validator.iter_errors(bare))] if error is not None]
    if definition.get("targeting"):
        error = best_match(rule_validator.iter_errors(definition["targeting"]))
        if error is not None:
            warnings.append("targeting: " + _said(error))
    unknown = sorted(_refs(definition.get("targeting")) - set(evaluators))
    warnings += [f"targeting refers to $evaluators {name!r}, which neither the document nor flags.segments define" for name in unknown]
    return [], warnings


def check_evaluator(name: str, rule: Any) -> list[str]:
    """Warnings for one `$evaluators` entry (flagd loads any JSON there)."""
    _, rule_validator = _validators()
    error = best_match(rule_validator.iter_errors(rule))
    return [] if error is None else [f"$evaluators.{name}: {_said(error)}"]


def _said(error) -> str:
    while error.context:  # the most specific reason a oneOf/anyOf branch gave
        error = best_match(error.context)
    where = "/".join(str(p) for p in error.absolute_path)
    message = error.message if len(error.message) < 200 else error.message[:197] + "..."
    return f"{where}: {message}" if where else message
