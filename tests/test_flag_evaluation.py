"""Flag evaluation against flagd: vectors pinned from flagd's own test bed, the same answers as
flagd's Python evaluator (openfeature-flagd-core) on our flagd.json export, and the rules of a
rollout (off is DISABLED, targets match, a user in at 10% stays in at 20%)."""

from __future__ import annotations

import json
import random
import time

import pytest
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext

from bot.flags.evaluation import (
    SCHEMA,
    bucket,
    context_problem,
    evaluate,
    evaluate_all,
    flagd_definition,
    unit_hash,
)
from bot.flags.model import FlagSnapshot, FlagState


def snapshot(version: int = 1, environment: str = "staging", **flags: FlagState) -> FlagSnapshot:
    return FlagSnapshot(environment, version, {key.replace("_", "-"): state for key, state in flags.items()})


def flagd(snap: FlagSnapshot) -> FlagdCore:
    """flagd's evaluator loaded from our export, through JSON as a flagd sync would read it."""
    core = FlagdCore()
    core.set_flags(json.dumps(flagd_definition(snap)))
    return core


# flagd-testbed gherkin/targeting.feature, "Fractional operator shorthand": flag
# "fractional-flag-shorthand" splits 1:1 between "heads" and "tails" on the targeting key. A 1:1
# split is a 50% rollout with "on" first, so heads is on. The @fractional-v3 rows are flagd's
# hashing-consistency ADR (CBOR of [flagKey, targetingKey]), which openfeature-flagd-core 2.x
# implements; the older @fractional-v2 rows (raw flagKey+targetingKey) put jon@company.com in heads.
TESTBED_SHORTHAND_V3 = [("jon@company.com", "tails"), ("jane@company.com", "tails")]

# flagd-testbed, "Fractional operator hash edge cases": MurmurHash3 values at the boundaries and
# the bucket of 100 the test bed gives for each (0, 0, 49 -> lower; 50, 99 -> upper).
TESTBED_HASH_EDGES = [(0, 0), (1, 0), (2147483647, 49), (2147483648, 50), (4294967295, 99)]


@pytest.mark.parametrize(("targeting_key", "side"), TESTBED_SHORTHAND_V3)
def test_fractional_bucketing_matches_flagds_test_bed(targeting_key, side):
    snap = snapshot(**{"fractional-flag-shorthand": FlagState(enabled=True, rollout=50)})
    result = evaluate(snap, "fractional-flag-shorthand", {"targetingKey": targeting_key})
    assert result.variant == {"heads": "on", "tails": "off"}[side]
    assert result.reason == "TARGETING_MATCH"
    assert (unit_hash("fractional-flag-shorthand", targeting_key) * 2) >> 32 == {"heads": 0, "tails": 1}[side]


@pytest.mark.parametrize(("hash32", "expected"), TESTBED_HASH_EDGES)
def test_buckets_at_the_hash_boundaries_are_flagds(hash32, expected):
    assert bucket(hash32) == expected


def test_the_export_is_a_flagd_definition_with_on_first_in_the_split():
    snap = snapshot(
        version=7,
        off=FlagState(),
        everyone=FlagState(enabled=True),
        half=FlagState(enabled=True, rollout=50),
        named=FlagState(enabled=True, rollout=10, targets=("u1", "u2")),
    )
    definition = flagd_definition(snap)
    assert definition["$schema"] == SCHEMA == "https://flagd.dev/schema/v0/flags.json"
    assert definition["metadata"] == {"flagSetId": "releasebot/staging", "version": "7"}
    assert list(definition["flags"]) == ["everyone", "half", "named", "off"]
    assert definition["flags"]["off"] == {"state": "DISABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}
    assert definition["flags"]["everyone"] == {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"}
    assert definition["flags"]["half"]["targeting"] == {"fractional": [["on", 50], ["off", 50]]}
    assert definition["flags"]["named"]["targeting"] == {
        "if": [{"in": [{"var": "targetingKey"}, ["u1", "u2"]]}, "on", {"fractional": [["on", 10], ["off", 90]]}]
    }
    json.dumps(definition)  # plain JSON, as flagd reads it


def test_reasons_values_and_variants_follow_flagd():
    snap = snapshot(
        off=FlagState(enabled=False, rollout=100, targets=("u1",)),
        everyone=FlagState(enabled=True, rollout=100),
        no_one=FlagState(enabled=True, rollout=0),
        named=FlagState(enabled=True, rollout=0, targets=("u1",)),
        named_and_all=FlagState(enabled=True, rollout=100, targets=("u1",)),
    )
    answers = {r.key: (r.value, r.variant, r.reason) for r in evaluate_all(snap, {"targetingKey": "u1"})}
    assert answers == {
        "everyone": (True, "on", "STATIC"),
        "named": (True, "on", "TARGETING_MATCH"),
        "named-and-all": (True, "on", "TARGETING_MATCH"),
        "no-one": (False, "off", "STATIC"),
        "off": (False, "off", "DISABLED"),
    }
    others = {r.key: (r.value, r.reason) for r in evaluate_all(snap, {"targetingKey": "u2"})}
    assert others["named"] == (False, "TARGETING_MATCH")
    assert others["named-and-all"] == (True, "TARGETING_MATCH")
    assert others["off"] == (False, "DISABLED")


def test_a_targeted_key_is_on_whatever_the_rollout_and_a_listed_key_is_never_hashed():
    snap = snapshot(tiny=FlagState(enabled=True, rollout=1, targets=("vip",)))
    result = evaluate(snap, "tiny", {"targetingKey": "vip"})
    assert (result.value, result.reason) == (True, "TARGETING_MATCH")
    assert bucket(unit_hash("tiny", "vip")) >= 1  # the hash alone would have left it out


def test_someone_in_at_a_lower_percentage_stays_in_as_it_grows():
    keys = [f"user-{i}" for i in range(5000)]
    previous: set[str] = set()
    for rollout in (1, 5, 10, 20, 50, 90, 99):
        snap = snapshot(grow=FlagState(enabled=True, rollout=rollout))
        on = {key for key in keys if evaluate(snap, "grow", {"targetingKey": key}).value}
        assert previous <= on, f"{len(previous - on)} users dropped out at {rollout}%"
        assert abs(len(on) / len(keys) - rollout / 100) < 0.02, (rollout, len(on))
        previous = on


def test_the_same_key_lands_differently_in_different_flags():
    keys = [f"user-{i}" for i in range(2000)]
    a = {k for k in keys if evaluate(snapshot(a=FlagState(True, 50)), "a", {"targetingKey": k}).value}
    b = {k for k in keys if evaluate(snapshot(b=FlagState(True, 50)), "b", {"targetingKey": k}).value}
    assert 0.4 < len(a & b) / len(a) < 0.6  # the flag key is hashed too: no one is in every rollout


def test_without_a_targeting_key_a_rollout_cannot_bucket():
    snap = snapshot(half=FlagState(enabled=True, rollout=50), everyone=FlagState(enabled=True))
    for context in ({}, {"targetingKey": ""}, {"targetingKey": None}):
        result = evaluate(snap, "half", context)
        assert (result.value, result.variant, result.reason, result.error_code) == (False, None, "ERROR", "TARGETING_KEY_MISSING")
        assert "targetingKey" in result.error_details
        assert evaluate(snap, "everyone", context).reason == "STATIC"
    # flagd answers the default variant there (reason DEFAULT, not an OFREP success reason): off too
    assert flagd(snap).resolve_boolean_value("half", True, EvaluationContext()).variant == "off"


def test_an_unknown_flag_is_flag_not_found():
    result = evaluate(snapshot(known=FlagState()), "unknown", {"targetingKey": "u"})
    assert (result.reason, result.error_code) == ("ERROR", "FLAG_NOT_FOUND")
    assert "'unknown'" in result.error_details and "staging" in result.error_details


def test_a_new_snapshot_is_answered_from_its_own_flags():
    """Rules are built per snapshot; the next version of an environment never sees the last one's."""
    before = snapshot(version=1, kill=FlagState(enabled=True))
    assert evaluate(before, "kill", {}).value is True
    after = snapshot(version=2, kill=FlagState(enabled=False))
    assert evaluate(after, "kill", {}).reason == "DISABLED"
    other_env = snapshot(version=2, environment="production", kill=FlagState(enabled=True))
    assert evaluate(other_env, "kill", {}).value is True
    assert evaluate(after, "kill", {}).value is False


def mixed_flags(count: int, seed: int = 5) -> dict[str, FlagState]:
    rng = random.Random(seed)
    flags = {}
    for i in range(count):
        targets = tuple(f"user-{rng.randrange(1000)}" for _ in range(rng.choice((0, 0, 1, 3))))
        enabled = rng.random() < 0.8
        rollout = rng.choice((0, 100, rng.randint(1, 99), rng.randint(1, 99)))
        flags[f"flag-{i:03d}.{rng.choice(('a', 'b-c', 'x_y'))}"] = FlagState(enabled, rollout, targets)
    return flags


def same_as_flagd(ours, theirs) -> bool:
    """flagd gives the caller's default and no variant for a disabled flag; every other answer
    must match in value, variant and reason."""
    if theirs.reason.value == "DISABLED":
        return ours.reason == "DISABLED" and ours.value is False
    return (ours.value, ours.variant, ours.reason) == (theirs.value, theirs.variant, theirs.reason.value)


def test_every_answer_is_flagds_on_the_exported_definition():
    snap = FlagSnapshot("staging", 3, mixed_flags(24))
    core = flagd(snap)
    differences = []
    for i in range(1000):
        key = f"user-{i}"
        for flag in snap.flags:
            ours = evaluate(snap, flag, {"targetingKey": key})
            theirs = core.resolve_boolean_value(flag, False, EvaluationContext(key))
            if not same_as_flagd(ours, theirs):
                differences.append((flag, key, ours, theirs))
    assert differences == []


@pytest.mark.parametrize("length", [0, 1, 23, 24, 255, 256, 65535, 65536])
def test_targeting_keys_of_every_cbor_length_class_hash_as_in_flagd(length):
    snap = snapshot(half=FlagState(enabled=True, rollout=50))
    core = flagd(snap)
    for filler in ("a", "é", "字"):  # 1, 2 and 3 bytes in UTF-8
        key = (filler * length)[:length] or "z"
        theirs = core.resolve_boolean_value("half", False, EvaluationContext(key))
        assert evaluate(snap, "half", {"targetingKey": key}).variant == theirs.variant, (filler, length)


def test_context_problems_are_named():
    assert context_problem({"targetingKey": "u", "plan": "pro"}) is None
    assert context_problem({}) is None
    assert context_problem([]) == "context must be a JSON object"
    assert context_problem({"targetingKey": 42}) == "targetingKey must be a string, not int"


def test_evaluation_is_faster_per_call_than_flagds_python_evaluator():
    snap = FlagSnapshot("staging", 1, mixed_flags(200, seed=9))
    core = flagd(snap)
    calls = [(flag, f"user-{i}") for i, flag in enumerate(list(snap.flags) * 5)]

    def best_of_three(run) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        return min(times)

    ours = best_of_three(lambda: [evaluate(snap, flag, {"targetingKey": key}) for flag, key in calls])
    theirs = best_of_three(lambda: [core.resolve_boolean_value(flag, False, EvaluationContext(key)) for flag, key in calls])
    assert ours < theirs, f"ours {ours / len(calls) * 1e6:.1f} µs, flagd-core {theirs / len(calls) * 1e6:.1f} µs per call"
