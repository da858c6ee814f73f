"""Boolean flag evaluation with flagd's semantics, and the same flags as flagd flag definitions.

Every flag has the variants "on" (true) and "off" (false). `flagd_definition` writes an
environment in flagd's format; `evaluate` answers exactly as flagd (and its Python evaluator,
openfeature-flagd-core) answers for that definition:

- disabled: false, reason DISABLED (flagd gives the caller's default; ours is false, variant "off");
- enabled for everyone (100%, no targets) or no one (0%, no targets): reason STATIC, no targeting;
- otherwise a targeting rule, so every answer is TARGETING_MATCH: a listed targeting key is on,
  then a percentage rollout is flagd's `fractional` operator with the weights
  [["on", rollout], ["off", 100 - rollout]] ("on" first, so a key in at 10% stays in at 20%).

`fractional` buckets a targeting key by MurmurHash3 (x86, 32 bits, seed 0) of the canonical CBOR
encoding of the array [flag key, targeting key] (flagd's hashing-consistency ADR, "fractional-v3"
in flagd's test bed, as openfeature-flagd-core 2.x does), then takes (hash * 100) >> 32 as the
bucket, on when it is below the rollout. Evaluators from before that ADR ("fractional-v2": the hash
of the raw string flag key + targeting key, as in openfeature-flagd-core 1.x) put other users in a
rollout, so a flagd syncing our export must implement it to answer as we do. Without a targeting key flagd's `fractional` yields null
and flagd answers the default variant with reason DEFAULT, which OFREP has no success reason for:
we answer TARGETING_KEY_MISSING instead, the OFREP error for exactly that case.

The per-flag rules are built once per snapshot, so a call is a dict look-up and, for a rollout,
one hash.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mmh3

from bot.flags.model import FlagSnapshot, FlagState

SCHEMA = "https://flagd.dev/schema/v0/flags.json"
ON, OFF = "on", "off"
VARIANTS = {ON: True, OFF: False}

STATIC = "STATIC"
TARGETING_MATCH = "TARGETING_MATCH"
DISABLED = "DISABLED"
ERROR = "ERROR"

FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"
INVALID_CONTEXT = "INVALID_CONTEXT"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One answer. A success has a variant and no error code; a failure has reason ERROR, an
    OpenFeature error code and details, and the value false."""

    key: str
    value: bool
    variant: str | None
    reason: str
    error_code: str | None = None
    error_details: str | None = None


def context_problem(context: Any) -> str | None:
    """Why an evaluation context is unusable (OFREP's INVALID_CONTEXT), or None when it is fine."""
    if not isinstance(context, dict):
        return "context must be a JSON object"
    key = context.get("targetingKey")
    if key is not None and not isinstance(key, str):
        return f"targetingKey must be a string, not {type(key).__name__}"
    return None


def flagd_definition(snapshot: FlagSnapshot) -> dict:
    """The environment's flags as a flagd flag-definition document (flagd's flags.json schema)."""
    return {
        "$schema": SCHEMA,
        "metadata": {"flagSetId": f"releasebot/{snapshot.environment}", "version": str(snapshot.version)},
        "flags": {key: _flag_definition(snapshot.flags[key]) for key in sorted(snapshot.flags)},
    }


def _flag_definition(state: FlagState) -> dict:
    definition: dict[str, Any] = {
        "state": "ENABLED" if state.enabled else "DISABLED",
        "variants": dict(VARIANTS),
        "defaultVariant": ON if state.enabled and state.rollout == 100 else OFF,
    }
    targeting = _targeting(state)
    if targeting is not None:
        definition["targeting"] = targeting
    return definition


def _targeting(state: FlagState) -> dict | None:
    """flagd json-logic for an enabled flag that is on for some keys only; None when it is the
    same for everyone (the default variant then answers, reason STATIC)."""
    if not state.enabled:
        return None
    partial = 0 < state.rollout < 100
    if not partial and not state.targets:
        return None
    rest: Any = (
        {"fractional": [[ON, state.rollout], [OFF, 100 - state.rollout]]}
        if partial
        else (ON if state.rollout == 100 else OFF)
    )
    if not state.targets:
        return rest
    return {"if": [{"in": [{"var": "targetingKey"}, list(state.targets)]}, ON, rest]}


def evaluate(snapshot: FlagSnapshot, key: str, context: Mapping[str, Any]) -> Evaluation:
    """The flag `key` of the snapshot for an evaluation context (OFREP's `context` object)."""
    rule = _rules(snapshot).get(key)
    if rule is None:
        return Evaluation(key, False, None, ERROR, FLAG_NOT_FOUND, f"flag {key!r} does not exist in {snapshot.environment}")
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
            built = (snapshot, {key: _rule(key, snapshot.flags[key]) for key in sorted(snapshot.flags)})
            _built[snapshot.environment] = built
    return built[1]


def _rule(key: str, state: FlagState) -> Rule:
    if not state.enabled:
        disabled = Evaluation(key, False, OFF, DISABLED)
        return lambda _context: disabled
    partial = 0 < state.rollout < 100
    if not partial and not state.targets:
        static = Evaluation(key, True, ON, STATIC) if state.rollout == 100 else Evaluation(key, False, OFF, STATIC)
        return lambda _context: static

    on = Evaluation(key, True, ON, TARGETING_MATCH)
    off = Evaluation(key, False, OFF, TARGETING_MATCH)
    targets = frozenset(state.targets)
    if not partial:
        rest = on if state.rollout == 100 else off
        return lambda context: on if context.get("targetingKey") in targets else rest

    missing = Evaluation(
        key, False, None, ERROR, TARGETING_KEY_MISSING,
        f"flag {key!r} is rolled out to {state.rollout}% of targeting keys: send a non-empty targetingKey",
    )
    rollout = state.rollout

    def rolled_out(context: Mapping[str, Any]) -> Evaluation:
        targeting_key = context.get("targetingKey")
        if targeting_key in targets:
            return on
        if not targeting_key or type(targeting_key) is not str:
            return missing
        return on if bucket(unit_hash(key, targeting_key)) < rollout else off

    return rolled_out


def unit_hash(flag_key: str, targeting_key: str) -> int:
    """flagd's 32-bit hash of a targeting key for a flag: MurmurHash3 of the canonical CBOR
    array [flag key, targeting key]."""
    return mmh3.hash(b"\x82" + _cbor_text(flag_key.encode()) + _cbor_text(targeting_key.encode()), signed=False)


def bucket(hash32: int) -> int:
    """flagd's bucket in [0, 100) for a total weight of 100: (hash * total) >> 32."""
    return (hash32 * 100) >> 32


_SHORT_TEXT_HEADERS = tuple(bytes((0x60 | n,)) if n < 24 else bytes((0x78, n)) for n in range(256))


def _cbor_text(data: bytes) -> bytes:
    """A CBOR text string (major type 3) in its shortest, canonical form."""
    n = len(data)
    if n < 256:
        return _SHORT_TEXT_HEADERS[n] + data
    if n < 1 << 16:
        return b"\x79" + n.to_bytes(2, "big") + data
    return b"\x7a" + n.to_bytes(4, "big") + data  # a key of 4 GiB never reaches an evaluation
