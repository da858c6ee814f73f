"""A flag in one environment is a flagd flag definition (a JSON object): `state`, typed
`variants`, `defaultVariant`, optional `targeting` and `metadata`. What the /flag subcommands do
are pure edits of that definition, kept as data ({"op": "rollout", "percent": 20}) so an approval
applies the operation to the definition as it is then, never undoing a kill switch pulled since.

The Slack edits write targeting of one shape, an *audience*: targeting keys and segments get the
`on` variant, everyone else gets `rest` (a variant, or a `fractional` split):

    {"if": [{"or": [{"in": [{"var": "targetingKey"}, [keys]]}, {"$ref": "internal"}]}, "on", rest]}

`audience` reads that shape back; targeting of any other shape (written through the API) is
replaced only by `on`, `off`, `serve` and `split`, which set the whole rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ON, OFF = "on", "off"
BOOLEAN_VARIANTS = {ON: True, OFF: False}
MAX_TARGETS = 500
Rest = str | tuple[tuple[str, int], ...]


def variant_type(value: Any) -> str:
    """flagd's four variant types: boolean, string, number, object."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def is_boolean(variants: dict) -> bool:
    return variants == BOOLEAN_VARIANTS


def off_variant(variants: dict) -> str:
    """What `/flag off` serves: `off` for a boolean flag, else the first variant given."""
    return OFF if OFF in variants and is_boolean(variants) else next(iter(variants))


def initial(variants: dict | None) -> dict:
    """A flag's definition in an environment before anyone changed it there: serving off."""
    variants = dict(variants or BOOLEAN_VARIANTS)
    return {"state": "ENABLED", "variants": variants, "defaultVariant": off_variant(variants)}


def parse_variant_value(text: str) -> Any:
    """A variant value typed in Slack: JSON when it parses as JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def problems(definition: Any) -> list[str]:
    """Why a definition cannot be a flag at all (flagd refuses to load it); [] when it can."""
    if not isinstance(definition, dict):
        return ["a flag definition must be a JSON object"]
    found = []
    if definition.get("state") not in ("ENABLED", "DISABLED"):
        found.append('state must be "ENABLED" or "DISABLED"')
    variants = definition.get("variants")
    if not isinstance(variants, dict) or not variants:
        found.append("variants must be a non-empty object of variant name -> value")
    else:
        types = sorted({variant_type(v) for v in variants.values()})
        if len(types) > 1:
            found.append(f"variants mix types ({', '.join(types)}); a flag has one type")
        if any(value is None for value in variants.values()):
            found.append("a variant value cannot be null")
    default = definition.get("defaultVariant")
    if default is not None and (not isinstance(variants, dict) or default not in variants):
        found.append(f"defaultVariant {default!r} is not among the variants")
    if "targeting" in definition and not isinstance(definition["targeting"], dict):
        found.append("targeting must be a JSON object (a JsonLogic rule)")
    metadata = definition.get("metadata")
    if metadata is not None and (
        not isinstance(metadata, dict) or any(not isinstance(v, (str, int, float, bool)) for v in metadata.values())
    ):
        found.append("metadata must be an object of string, number or boolean values")
    return found


@dataclass(frozen=True)
class Audience:
    keys: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    rest: Rest = OFF


def audience(definition: dict) -> Audience | None:
    """The audience a Slack edit wrote, or None for targeting of another shape."""
    targeting = definition.get("targeting")
    if not targeting:
        return Audience(rest=definition.get("defaultVariant") or off_variant(definition["variants"]))
    rest = _rest(targeting)
    if rest is not None:
        return Audience(rest=rest)
    branches = targeting.get("if") if isinstance(targeting, dict) and len(targeting) == 1 else None
    if not isinstance(branches, list) or len(branches) != 3 or branches[1] != ON:
        return None
    rest = _rest(branches[2])
    condition = branches[0]
    matchers = condition["or"] if isinstance(condition, dict) and list(condition) == ["or"] else [condition]
    keys: list[str] = []
    segments: list[str] = []
    for matcher in matchers if isinstance(matchers, list) else [None]:
        if _is_key_list(matcher):
            keys.extend(matcher["in"][1])
        elif isinstance(matcher, dict) and list(matcher) == ["$ref"] and isinstance(matcher["$ref"], str):
            segments.append(matcher["$ref"])
        else:
            return None
    return None if rest is None else Audience(tuple(keys), tuple(segments), rest)


def _is_key_list(matcher: Any) -> bool:
    return (
        isinstance(matcher, dict) and list(matcher) == ["in"] and isinstance(matcher["in"], list)
        and len(matcher["in"]) == 2 and matcher["in"][0] == {"var": "targetingKey"} and isinstance(matcher["in"][1], list)
    )


def _rest(rule: Any) -> Rest | None:
    if isinstance(rule, str):
        return rule
    if isinstance(rule, dict) and list(rule) == ["fractional"] and isinstance(rule["fractional"], list):
        weights = rule["fractional"]
        if weights and all(isinstance(w, list) and len(w) == 2 and isinstance(w[0], str) and type(w[1]) is int for w in weights):
            return tuple((name, weight) for name, weight in weights)
    return None


def with_audience(definition: dict, audience: Audience) -> dict:
    """The definition serving `audience`, enabled; the default variant as the old exports had it:
    the rest when it is one variant, else `off` (boolean) or the current default."""
    matchers: list[Any] = []
    if audience.keys:
        matchers.append({"in": [{"var": "targetingKey"}, list(audience.keys)]})
    matchers.extend({"$ref": name} for name in audience.segments)
    rest: Any = audience.rest if isinstance(audience.rest, str) else {"fractional": [list(w) for w in audience.rest]}
    updated = {k: v for k, v in definition.items() if k != "targeting"}
    updated["state"] = "ENABLED"
    if isinstance(audience.rest, str):
        updated["defaultVariant"] = audience.rest
    elif is_boolean(definition["variants"]):
        updated["defaultVariant"] = OFF
    if matchers:
        updated["targeting"] = {"if": [matchers[0] if len(matchers) == 1 else {"or": matchers}, ON, rest]}
    elif not isinstance(audience.rest, str):
        updated["targeting"] = rest
    return updated


class EditRefused(ValueError):
    """An operation that does not fit the flag (the message is for the person who asked)."""


def apply(definition: dict, operation: dict) -> dict:
    """The definition after one /flag operation."""
    op = operation["op"]
    if op == "define":
        return dict(operation["definition"])
    variants = definition["variants"]
    boolean = is_boolean(variants)
    if op == "off":
        return with_audience(definition, Audience(rest=off_variant(variants)))
    if op == "serve":
        if operation["variant"] not in variants:
            raise EditRefused(f"there is no variant `{operation['variant']}`; variants: {', '.join(variants)}")
        return with_audience(definition, Audience(rest=operation["variant"]))
    if op == "split":
        unknown = [name for name, _ in operation["weights"] if name not in variants]
        if unknown:
            raise EditRefused(f"there is no variant `{unknown[0]}`; variants: {', '.join(variants)}")
        current = audience(definition) if boolean else None
        kept = current or Audience()
        return with_audience(definition, Audience(kept.keys, kept.segments, tuple((n, int(w)) for n, w in operation["weights"])))
    if not boolean:
        raise EditRefused(f"`/flag {op}` is for on/off flags; this one has variants {', '.join(variants)}: use `/flag serve` or `/flag split`")
    current = audience(definition)
    if current is None:
        if op != "on":
            raise EditRefused("its targeting was set through the API; change it there, or replace it with `/flag on|off|serve|split`")
        current = Audience()
    if op == "on":
        return with_audience(definition, Audience(current.keys, current.segments, ON))
    if op == "rollout":
        percent = int(operation["percent"])
        rest: Rest = ON if percent == 100 else OFF if percent == 0 else ((ON, percent), (OFF, 100 - percent))
        return with_audience(definition, Audience(current.keys, current.segments, rest))
    if op == "target":
        keys = [k for k in operation.get("keys", [])]
        segments = [s for s in operation.get("segments", [])]
        if operation["mode"] == "add":
            return with_audience(definition, Audience(
                tuple(dict.fromkeys([*current.keys, *keys]))[:MAX_TARGETS],
                tuple(dict.fromkeys([*current.segments, *segments])),
                current.rest,
            ))
        return with_audience(definition, Audience(
            tuple(k for k in current.keys if k not in keys), tuple(s for s in current.segments if s not in segments), current.rest
        ))
    raise ValueError(f"unknown flag operation {op!r}")


def served_to_everyone(definition: dict) -> str | None:
    """The one variant everyone gets (a flag fully on or fully off), else None."""
    found = audience(definition) if definition.get("state") != "DISABLED" else None
    if found is None or found.keys or found.segments or not isinstance(found.rest, str):
        return None
    return found.rest


def _value(definition: dict, variant: str) -> str:
    value = definition["variants"].get(variant)
    return variant if is_boolean(definition["variants"]) else f"{variant} ({json.dumps(value)[:80]})"


def describe(definition: dict) -> str:
    """Who gets what, in plain words."""
    variants = definition["variants"]
    if definition.get("state") == "DISABLED":
        return "disabled (applications get their own default)"
    found = audience(definition)
    if found is None:
        default = definition.get("defaultVariant")
        return f"custom targeting, else {_value(definition, default) if default else 'the application default'}"
    boolean = is_boolean(variants)
    if isinstance(found.rest, str):
        rest = found.rest if boolean else _value(definition, found.rest)
    else:
        rest = " / ".join(f"{name} {weight}%" for name, weight in found.rest)
        if boolean:
            on = dict(found.rest).get(ON, 0)
            rest = f"{on * 100 // max(1, sum(w for _, w in found.rest))}% of everyone else"
    who = []
    if found.segments:
        who.append("segment" + ("s " if len(found.segments) > 1 else " ") + ", ".join(found.segments))
    if found.keys:
        who.append(f"{len(found.keys)} targeting key{'s' if len(found.keys) != 1 else ''}")
    if not who:
        if boolean and isinstance(found.rest, str):
            return rest
        if boolean:
            return f"on for {rest.removesuffix(' of everyone else')}"
        return f"serves {rest} to everyone" if isinstance(found.rest, str) else f"split {rest}"
    if boolean:
        return f"on for {' and '.join(who)}" + ("" if found.rest == OFF else "; everyone else on" if found.rest == ON else f"; {rest}")
    return f"{' and '.join(who)} get on; everyone else {rest}"


def describe_operation(operation: dict) -> str:
    op = operation["op"]
    if op == "rollout":
        return f"roll out to {operation['percent']}%"
    if op == "target":
        verb = "add" if operation["mode"] == "add" else "remove"
        named = [*operation.get("keys", []), *(f"segment:{s}" for s in operation.get("segments", []))]
        return f"{verb} target{'s' if len(named) > 1 else ''} {', '.join(named)}"
    if op == "serve":
        return f"serve {operation['variant']} to everyone"
    if op == "split":
        return "split " + ", ".join(f"{name} {weight}%" for name, weight in operation["weights"])
    if op == "define":
        return "replace the definition"
    return f"turn {op}"
