"""Flag evaluation against flagd: flagd definitions of our own stating the semantics of flagd's
test bed (typed variants, reasons, disabled, targeting, `$ref`, flagd's operators, metadata), the
same answers as flagd's Python evaluator (openfeature-flagd-core) on our flagd.json export, and
the /flag edits as definitions (a user in at 10% stays in at 20%)."""

from __future__ import annotations

import json
import random

import mmh3
import pytest
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext

from bot.flags import definitions as d
from bot.flags.evaluation import SCHEMA, context_problem, evaluate, evaluate_all, flagd_document
from bot.flags.model import FlagSnapshot

SEGMENTS = {"internal": {"ends_with": [{"var": "email"}, "@example.com"]}, "beta": {"in": ["beta", {"var": "groups"}]}}


def snapshot(version: int = 1, environment: str = "staging", evaluators: dict | None = None, **flags: dict) -> FlagSnapshot:
    return FlagSnapshot(environment, version, {key.replace("_", "-"): f for key, f in flags.items()}, evaluators or {})


def flag(variants: dict, default: str | None, targeting: dict | None = None, state: str = "ENABLED", **extra) -> dict:
    definition = {"state": state, "variants": variants, **({"defaultVariant": default} if default is not None else {}), **extra}
    if targeting is not None:
        definition["targeting"] = targeting
    return definition


def flagd(snap: FlagSnapshot) -> FlagdCore:
    """flagd's evaluator loaded from our export, through JSON as a flagd sync would read it."""
    core = FlagdCore()
    core.set_flags(json.dumps(flagd_document(snap)))
    return core


def answer(snap: FlagSnapshot, key: str, **context) -> tuple:
    result = evaluate(snap, key, context)
    return (None if result.code_default else result.value, result.variant, result.reason, result.error_code)


def cbor_bucket(flag_key: str, targeting_key: str, total: int = 100) -> int:
    """flagd's fractional-v3 bucket: MurmurHash3 of the canonical CBOR of [flagKey, targetingKey]."""
    def text(s: str) -> bytes:
        data = s.encode()
        return (bytes((0x60 | len(data),)) if len(data) < 24 else bytes((0x78, len(data)))) + data
    return (mmh3.hash(b"\x82" + text(flag_key) + text(targeting_key), signed=False) * total) >> 32


def test_typed_variants_answer_their_default_statically():
    snap = snapshot(
        yes=flag({"on": True, "off": False}, "on"),
        greeting=flag({"hi": "hello", "bye": "goodbye"}, "hi"),
        limit=flag({"low": 10, "high": 0.5}, "low"),
        layout=flag({"grid": {"columns": 3, "title": "Pics"}}, "grid"),
    )
    assert answer(snap, "yes") == (True, "on", "STATIC", None)
    assert answer(snap, "greeting") == ("hello", "hi", "STATIC", None)
    assert answer(snap, "limit") == (10, "low", "STATIC", None)
    assert answer(snap, "layout") == ({"columns": 3, "title": "Pics"}, "grid", "STATIC", None)


def test_a_disabled_flag_defers_to_the_callers_default_with_reason_disabled():
    snap = snapshot(dark=flag({"a": "x", "b": "y"}, "a", {"fractional": [["a", 50], ["b", 50]]}, state="DISABLED", metadata={"team": "ux"}))
    result = evaluate(snap, "dark", {"targetingKey": "u1"})
    assert (result.code_default, result.variant, result.reason, result.metadata) == (True, None, "DISABLED", {"team": "ux"})


def test_targeting_match_default_and_no_default_variant():
    rule = {"if": [{"==": [{"var": "targetingKey"}, "vip"]}, "hit", None]}
    snap = snapshot(with_default=flag({"hit": "H", "miss": "M"}, "miss", rule), without=flag({"hit": "H", "miss": "M"}, None, rule))
    assert answer(snap, "with-default", targetingKey="vip") == ("H", "hit", "TARGETING_MATCH", None)
    assert answer(snap, "with-default", targetingKey="other") == ("M", "miss", "DEFAULT", None)
    assert answer(snap, "without", targetingKey="other") == (None, None, "DEFAULT", None)
    assert answer(snap, "without") == (None, None, "DEFAULT", None)


def test_boolean_and_number_results_name_variants_as_flagd_does():
    snap = snapshot(
        b=flag({"true": "T", "false": "F"}, "false", {"==": [{"var": "n"}, 1]}),
        n=flag({"1": "one", "2": "two"}, "1", {"var": "n"}),
    )
    assert answer(snap, "b", n=1)[:3] == ("T", "true", "TARGETING_MATCH")
    assert answer(snap, "n", n=2)[:3] == ("two", "2", "TARGETING_MATCH")


def test_errors_are_flagds_a_missing_variant_and_an_unknown_operator():
    snap = snapshot(stray=flag({"a": 1}, "a", {"if": [True, "zzz", "a"]}), odd=flag({"a": 1}, "a", {"no_such_op": [1]}))
    assert answer(snap, "stray")[2:] == ("ERROR", "GENERAL")
    assert answer(snap, "odd")[2:] == ("ERROR", "PARSE_ERROR")
    assert answer(snap, "unknown")[2:] == ("ERROR", "FLAG_NOT_FOUND")


def test_refs_segments_flagd_properties_and_string_operators():
    snap = snapshot(
        evaluators=SEGMENTS,
        staff=flag({"on": True, "off": False}, "off", {"if": [{"$ref": "internal"}, "on", "off"]}),
        beta=flag({"on": True, "off": False}, "off", {"if": [{"$ref": "beta"}, "on", None]}),
        own_key=flag({"on": True, "off": False}, "off", {"if": [{"==": [{"var": "$flagd.flagKey"}, "own-key"]}, "on", "off"]}),
        clock=flag({"on": True, "off": False}, "off", {"if": [{">": [{"var": "$flagd.timestamp"}, 1_600_000_000]}, "on", "off"]}),
        prefix=flag({"on": True, "off": False}, "off", {"if": [{"starts_with": [{"var": "id"}, "abc"]}, "on", "off"]}),
    )
    assert answer(snap, "staff", email="ann@example.com")[:2] == (True, "on")
    assert answer(snap, "staff", email="ann@elsewhere.org")[:2] == (False, "off")
    assert answer(snap, "beta", groups=["beta", "x"])[:3] == (True, "on", "TARGETING_MATCH")
    assert answer(snap, "beta", groups=[])[:3] == (False, "off", "DEFAULT")
    assert answer(snap, "own-key")[:2] == (True, "on")
    assert answer(snap, "clock")[:2] == (True, "on")
    assert answer(snap, "prefix", id="abcdef")[0] is True and answer(snap, "prefix", id="xabc")[0] is False


@pytest.mark.parametrize(
    ("version", "op", "than", "expected"),
    [("1.2.3", "=", "1.2.3", True), ("v1.2", "=", "1.2.0", True), ("2.0.0", ">", "1.9.9", True), ("1.0.0-beta", "<", "1.0.0", True),
     ("1.5.0", "^", "1.0.0", True), ("1.5.0", "~", "1.4.0", False), ("2.0.0", "<=", "1.0.0", False)],
)
def test_sem_ver_compares_as_flagd(version, op, than, expected):
    snap = snapshot(v=flag({"new": "n", "old": "o"}, "old", {"if": [{"sem_ver": [{"var": "version"}, op, than]}, "new", "old"]}))
    assert (answer(snap, "v", version=version)[1] == "new") is expected


def test_fractional_custom_weights_seeds_and_many_buckets():
    three = {"fractional": [["a", 10], ["b", 30], ["c", 60]]}
    seeded = {"fractional": [{"cat": ["shared-seed", {"var": "user.id"}]}, ["a", 50], ["b", 50]]}
    snap = snapshot(
        three=flag({"a": "A", "b": "B", "c": "C"}, "a", three),
        seeded_one=flag({"a": "A", "b": "B"}, "a", seeded),
        seeded_two=flag({"a": "A", "b": "B"}, "a", seeded),
        single=flag({"only": "O"}, "only", {"fractional": [["only"]]}),
    )
    counts = {"a": 0, "b": 0, "c": 0}
    for i in range(6000):
        counts[answer(snap, "three", targetingKey=f"user-{i}")[1]] += 1
    assert abs(counts["a"] / 6000 - 0.1) < 0.02 and abs(counts["b"] / 6000 - 0.3) < 0.02
    # the same seed buckets a user alike in both flags, whatever their keys
    assert all(answer(snap, "seeded-one", user={"id": f"u{i}"})[1] == answer(snap, "seeded-two", user={"id": f"u{i}"})[1] for i in range(300))
    assert answer(snap, "single", targetingKey="anyone")[1] == "only"
    # without a targeting key the shorthand cannot bucket: flagd answers the default variant
    assert answer(snap, "three")[1:3] == ("a", "DEFAULT")


# flagd-testbed v3, "Fractional operator shorthand": our own flag stating the same rule (CBOR of
# [flagKey, targetingKey], openfeature-flagd-core 2.x) puts both of these users on the second side.
@pytest.mark.parametrize("targeting_key", ["jon@company.com", "jane@company.com"])
def test_fractional_bucketing_is_flagds_fractional_v3(targeting_key):
    snap = snapshot(fractional_flag_shorthand=flag({"heads": "h", "tails": "t"}, "heads", {"fractional": [["heads", 1], ["tails", 1]]}))
    assert answer(snap, "fractional-flag-shorthand", targetingKey=targeting_key)[1] == "tails"
    assert cbor_bucket("fractional-flag-shorthand", targeting_key, 2) == 1


def test_metadata_is_passed_through_and_absent_when_the_flag_has_none():
    snap = snapshot(m=flag({"on": True}, "on", metadata={"string": "1.0.2", "integer": 2, "float": 0.1, "boolean": True}), bare=flag({"on": True}, "on"))
    assert evaluate(snap, "m", {}).metadata == {"string": "1.0.2", "integer": 2, "float": 0.1, "boolean": True}
    assert not evaluate(snap, "bare", {}).metadata


def test_the_export_is_a_flagd_document_with_segments_as_evaluators():
    snap = snapshot(version=7, evaluators=SEGMENTS, b=flag({"on": True, "off": False}, "off"), a=flag({"x": 1}, "x"))
    document = flagd_document(snap)
    assert document["$schema"] == SCHEMA == "https://flagd.dev/schema/v0/flags.json"
    assert document["metadata"] == {"flagSetId": "releasebot/staging", "version": "7"}
    assert list(document["flags"]) == ["a", "b"] and document["$evaluators"] == SEGMENTS
    json.dumps(document)


def boolean(*operations: dict) -> dict:
    definition = d.initial(None)
    for operation in operations:
        definition = d.apply(definition, operation)
    return definition


def test_slack_edits_are_definitions_and_read_back_as_audiences():
    assert boolean() == {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}
    assert boolean({"op": "on"}) == {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"}
    half = boolean({"op": "rollout", "percent": 50})
    assert half["targeting"] == {"fractional": [["on", 50], ["off", 50]]} and half["defaultVariant"] == "off"
    named = boolean({"op": "rollout", "percent": 10}, {"op": "target", "mode": "add", "keys": ["u1", "u2"], "segments": ["internal"]})
    assert named["targeting"] == {
        "if": [{"or": [{"in": [{"var": "targetingKey"}, ["u1", "u2"]]}, {"$ref": "internal"}]}, "on", {"fractional": [["on", 10], ["off", 90]]}]
    }
    assert d.audience(named) == d.Audience(("u1", "u2"), ("internal",), (("on", 10), ("off", 90)))
    assert d.describe(named) == "on for segment internal and 2 targeting keys; 10% of everyone else"
    removed = d.apply(named, {"op": "target", "mode": "remove", "keys": ["u1", "u2"], "segments": ["internal"]})
    assert removed["targeting"] == {"fractional": [["on", 10], ["off", 90]]}
    assert d.apply(named, {"op": "off"}) == boolean()


def test_variant_edits_serve_split_and_off_serves_the_first_variant():
    colours = d.initial({"red": "#f00", "blue": "#00f", "green": "#0f0"})
    assert colours["defaultVariant"] == "red"
    split = d.apply(colours, {"op": "split", "weights": [["blue", 50], ["green", 50]]})
    assert split["targeting"] == {"fractional": [["blue", 50], ["green", 50]]} and split["defaultVariant"] == "red"
    served = d.apply(split, {"op": "serve", "variant": "green"})
    assert "targeting" not in served and served["defaultVariant"] == "green"
    assert d.apply(served, {"op": "off"})["defaultVariant"] == "red"
    with pytest.raises(d.EditRefused):
        d.apply(colours, {"op": "serve", "variant": "purple"})
    with pytest.raises(d.EditRefused):
        d.apply(colours, {"op": "rollout", "percent": 5})


@pytest.mark.parametrize(
    ("definition", "problem"),
    [
        ([], "must be a JSON object"),
        ({"state": "ENABLED", "defaultVariant": "a"}, "variants must be a non-empty object"),
        ({"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "b"}, "defaultVariant 'b' is not among"),
        ({"state": "ENABLED", "variants": {"a": 1, "b": "x"}, "defaultVariant": "a"}, "mix types"),
        ({"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": "a"}, "targeting must be a JSON object"),
        ({"state": "ON", "variants": {"a": 1}, "defaultVariant": "a"}, "state must be"),
    ],
)
def test_definitions_that_cannot_be_flags_are_named(definition, problem):
    assert any(problem in p for p in d.problems(definition))


def mixed_flags(count: int, seed: int = 5) -> dict[str, dict]:
    """Flags as the Slack edits leave them: off, on, rollouts, targets, segments, splits."""
    rng = random.Random(seed)
    flags = {}
    for i in range(count):
        ops = [{"op": "rollout", "percent": rng.choice((0, 100, rng.randint(1, 99)))}]
        if rng.random() < 0.4:
            ops.append({"op": "target", "mode": "add", "keys": [f"user-{rng.randrange(1000)}"], "segments": rng.choice(([], ["internal"]))})
        if rng.random() < 0.2:
            ops.append({"op": "off"})
        flags[f"flag-{i:03d}.{rng.choice(('a', 'b-c', 'x_y'))}"] = boolean(*ops)
    flags["colours"] = d.apply(d.initial({"red": "#f00", "blue": "#00f", "green": "#0f0"}), {"op": "split", "weights": [["red", 20], ["blue", 30], ["green", 50]]})
    return flags


def test_every_answer_is_flagds_on_the_exported_document():
    snap = FlagSnapshot("staging", 3, mixed_flags(24), SEGMENTS)
    core = flagd(snap)
    differences = []
    for i in range(1000):
        context = {"targetingKey": f"user-{i}", "email": f"user-{i}@{'example.com' if i % 7 == 0 else 'x.org'}"}
        for key in snap.flags:
            ours = evaluate(snap, key, context)
            resolve = core.resolve_string_value if key == "colours" else core.resolve_boolean_value
            theirs = resolve(key, "" if key == "colours" else False, EvaluationContext(context["targetingKey"], {"email": context["email"]}))
            if (ours.value, ours.variant, ours.reason) != (theirs.value, theirs.variant, theirs.reason.value):
                differences.append((key, context, ours, theirs))
    assert differences == []


def test_someone_in_at_a_lower_percentage_stays_in_as_it_grows():
    keys = [f"user-{i}" for i in range(5000)]
    previous: set[str] = set()
    for rollout in (1, 5, 10, 20, 50, 90, 99):
        snap = snapshot(grow=boolean({"op": "rollout", "percent": rollout}))
        on = {key for key in keys if evaluate(snap, "grow", {"targetingKey": key}).value}
        assert previous <= on, f"{len(previous - on)} users dropped out at {rollout}%"
        assert abs(len(on) / len(keys) - rollout / 100) < 0.02, (rollout, len(on))
        previous = on


def test_a_new_snapshot_is_answered_from_its_own_flags():
    before = snapshot(version=1, kill=boolean({"op": "on"}))
    assert evaluate(before, "kill", {}).value is True
    after = snapshot(version=2, kill=boolean({"op": "on"}, {"op": "off"}))
    assert evaluate(after, "kill", {}).value is False
    assert evaluate(snapshot(version=2, environment="production", kill=boolean({"op": "on"})), "kill", {}).value is True
    assert evaluate(after, "kill", {}).value is False
    assert [r.key for r in evaluate_all(after, {})] == ["kill"]


def test_context_problems_are_named():
    assert context_problem({"targetingKey": "u", "plan": "pro"}) is None
    assert context_problem({}) is None
    assert context_problem([]) == "context must be a JSON object"
    assert context_problem({"targetingKey": 42}) == "targetingKey must be a string, not int"
