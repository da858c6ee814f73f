"""Every kind of OFREP answer the running bot gives, checked against the protocol's own OpenAPI
document (tests/schemas/ofrep-openapi.yaml, open-feature/protocol at d1a63a4): the body against
the schema the document gives for that path, method and status, and the headers it names.

The document is OpenAPI 3.1, whose schemas are JSON Schema 2020-12 (it uses no `nullable`), so
its `$ref`s are inlined and the result handed to jsonschema. Three defects of the document are
patched in memory, each saying why; `test_each_patch_is_needed` fails once upstream fixes one."""

from __future__ import annotations

import copy
import pathlib
from collections.abc import Callable

import httpx
import jsonschema
import pytest
import yaml
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext

from tests.conftest import API_TOKEN

DOCUMENT = yaml.safe_load((pathlib.Path(__file__).parent / "schemas" / "ofrep-openapi.yaml").read_text())
SINGLE, BULK = "/ofrep/v1/evaluate/flags/{key}", "/ofrep/v1/evaluate/flags"
# OpenFeature's resolution reasons (https://openfeature.dev/specification/types#resolution-reason).
OPENFEATURE_REASONS = ["STATIC", "DEFAULT", "TARGETING_MATCH", "SPLIT", "CACHED", "DISABLED", "UNKNOWN", "STALE", "ERROR"]


def code_default_has_no_value(schemas: dict) -> None:
    """codeDefaultFlag is `type: object, properties: {}`, which every answer matches, so an answer
    with a value matches two branches of evaluationSuccess's `oneOf` and none passes. The intent
    (its description, ADR-0006): the one flag type without a `value`."""
    schemas["codeDefaultFlag"]["not"] = {"required": ["value"]}


def float_is_not_integer(schemas: dict) -> None:
    """In JSON Schema every integer is a number, so an integer value matches integerFlag and
    floatFlag and fails the same `oneOf`. The intent: floatFlag is for the other numbers."""
    schemas["floatFlag"]["properties"]["value"]["not"] = {"type": "integer"}


def reason_is_openfeatures(schemas: dict) -> None:
    """Commit 68ad3d3 ("docs: update openapi.yaml with descriptions and examples") turned the
    reason's list of examples into an enum without DEFAULT, which flagd answers and ADR-0006's own
    example uses. The intent: an OpenFeature resolution reason."""
    schemas["evaluationSuccess"]["allOf"][0]["properties"]["reason"]["enum"] = OPENFEATURE_REASONS


def variant_null_without_value(schemas: dict) -> None:
    """Not a defect but our one deliberate deviation (bot/api/ofrep.py, `evaluation_json`): a
    code-default answer carries `"variant": null`, because the Python OFREP provider (0.3) reads
    `variant` unconditionally. Allowed there only; an answer with a value has a string variant."""
    success = schemas["evaluationSuccess"]
    success["allOf"][0]["properties"]["variant"]["type"] = ["string", "null"]
    success["if"] = {"required": ["value"]}
    success["then"] = {"properties": {"variant": {"type": "string"}}}


PATCHES: list[Callable[[dict], None]] = [code_default_has_no_value, float_is_not_integer, reason_is_openfeatures, variant_null_without_value]


def inline(node: object, document: dict) -> object:
    """The node with every local `$ref` replaced by what it points at (siblings kept, as 3.1 has it)."""
    if isinstance(node, list):
        return [inline(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return inline({**target, **siblings}, document)
    return {key: inline(value, document) for key, value in node.items()}


def patched(patches: list[Callable[[dict], None]] = PATCHES) -> dict:
    document = copy.deepcopy(DOCUMENT)
    for patch in patches:
        patch(document["components"]["schemas"])
    return inline(document, document)


SPEC = patched()


def response_spec(template: str, status: int, spec: dict = SPEC) -> dict:
    return spec["paths"][template]["post"]["responses"][str(status)]


def check(response: httpx.Response, template: str) -> dict | None:
    """The response as the document specifies it for `template` and its status; returns the body."""
    specified = response_spec(template, response.status_code)
    for name, header in specified.get("headers", {}).items():
        assert name in response.headers, (template, response.status_code, name)
        jsonschema.validate(response.headers[name], header["schema"])
    if "content" not in specified:
        if response.status_code == 304:
            assert response.content == b""  # "No response body is returned."
        return None
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    jsonschema.Draft202012Validator(specified["content"]["application/json"]["schema"]).validate(body)
    return body


def flag(variants: dict, default: str | None, targeting: dict | None = None, **extra) -> dict:
    definition = {"state": "ENABLED", "variants": variants, "defaultVariant": default, **extra}
    return {**definition, "targeting": targeting} if targeting else definition


ON_OFF = {"on": True, "off": False}
STAFF = {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on", None]}
FLAGS = {
    "bool.on": flag(ON_OFF, "on"),
    "bool.off": flag(ON_OFF, "off"),
    "colour": flag({"red": "#f00", "blue": "#00f"}, "red", {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "blue", None]}),
    "limit": flag({"low": 10, "high": 100}, "high"),
    "ratio": flag({"small": 0.25, "large": 0.75}, "small", metadata={"team": "ux", "reviewed": True, "tier": 2}),
    "layout": flag({"compact": {"rows": 10, "dense": True}, "roomy": {"rows": 4, "dense": False}}, "roomy"),
    "killed": {**flag(ON_OFF, "on"), "state": "DISABLED"},
    "code.default": flag(ON_OFF, None),
    "staff.only": flag(ON_OFF, "off", STAFF),
    "split": flag(ON_OFF, "off", {"fractional": [["on", 50], ["off", 50]]}),
    "broken": flag(ON_OFF, "off", {"no_such_op": [1]}),  # accepted with a warning; evaluates to PARSE_ERROR
}
STAFF_CONTEXT = {"targetingKey": "user-1", "email": "ann@example.com"}


@pytest.fixture
def http(bot):
    with httpx.Client(base_url=bot.url, headers={"Authorization": f"Bearer {API_TOKEN}"}) as client:
        for env in ("staging", "production"):
            for key, definition in FLAGS.items():
                assert client.put(f"/api/v1/envs/{env}/flags/{key}", json=definition).status_code == 200, (env, key)
        yield client


def evaluate(http: httpx.Client, base: str, key: str, context: object) -> httpx.Response:
    return http.post(f"{base}/ofrep/v1/evaluate/flags/{key}", json={"context": context})


BASES = ["", "/envs/production"]  # the document's paths, at the server root and under each environment


@pytest.mark.parametrize("base", BASES)
def test_every_kind_of_single_evaluation_is_as_the_document_specifies(http, base):
    def answer(key: str, context: dict, status: int = 200) -> dict:
        response = evaluate(http, base, key, context)
        assert response.status_code == status, (key, response.text)
        return check(response, SINGLE)

    user = {"targetingKey": "user-1"}
    assert answer("bool.on", user) == {"key": "bool.on", "value": True, "variant": "on", "reason": "STATIC"}
    assert answer("bool.off", user)["value"] is False
    assert answer("colour", STAFF_CONTEXT)["value"] == "#00f" and answer("colour", user)["reason"] == "DEFAULT"
    assert answer("limit", user)["value"] == 100
    assert answer("ratio", user) == {"key": "ratio", "value": 0.25, "variant": "small", "reason": "STATIC", "metadata": {"team": "ux", "reviewed": True, "tier": 2}}
    assert answer("layout", user)["value"] == {"rows": 4, "dense": False}
    assert answer("killed", user) == {"key": "killed", "reason": "DISABLED", "variant": None}
    assert answer("code.default", user) == {"key": "code.default", "reason": "DEFAULT", "variant": None}
    assert answer("staff.only", STAFF_CONTEXT)["reason"] == "TARGETING_MATCH"
    assert {answer("split", {"targetingKey": f"user-{i}"})["value"] for i in range(20)} == {True, False}
    assert answer("broken", user, 400)["errorCode"] == "PARSE_ERROR"
    assert answer("no.such.flag", user, 404)["errorCode"] == "FLAG_NOT_FOUND"
    for content in (b"{not json", b"{}", b'{"context": {"targetingKey": 42}}'):
        response = http.post(f"{base}/ofrep/v1/evaluate/flags/bool.on", content=content)
        assert response.status_code == 400 and check(response, SINGLE)["key"] == "bool.on"


def test_a_split_without_a_targeting_key_answers_as_flagd_does(http):
    """The document's context requires a targetingKey; OpenFeature does not, and neither does flagd,
    whose fractional cannot bucket without one and falls back to the default variant."""
    core = FlagdCore()
    core.set_flags(http.get("/envs/production/flagd.json").text)
    theirs = core.resolve_boolean_value("split", True, EvaluationContext(None, {"plan": "pro"}))
    ours = check(evaluate(http, "/envs/production", "split", {"plan": "pro"}), SINGLE)
    assert ours == {"key": "split", "value": theirs.value, "variant": theirs.variant, "reason": theirs.reason.value}
    assert ours["reason"] == "DEFAULT"


@pytest.mark.parametrize("base", BASES)
def test_bulk_evaluation_and_its_304_are_as_the_document_specifies(http, base):
    path = f"{base}/ofrep/v1/evaluate/flags"
    first = http.post(path, json={"context": STAFF_CONTEXT})
    assert first.status_code == 200
    body = check(first, BULK)
    by_key = {answer["key"]: answer for answer in body["flags"]}
    assert set(by_key) == set(FLAGS)
    assert by_key["broken"]["errorCode"] == "PARSE_ERROR" and by_key["killed"]["variant"] is None
    assert body["metadata"]["environment"] == ("production" if base else "staging")

    etag = first.headers["etag"]
    unchanged = http.post(path, json={"context": STAFF_CONTEXT}, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    check(unchanged, BULK)
    keyless = http.post(path, json={"context": {}}, headers={"If-None-Match": etag})
    assert keyless.status_code == 200 and check(keyless, BULK)["flags"]
    for content in (b"", b"[]", b'{"context": "u1"}'):
        response = http.post(path, content=content)
        assert response.status_code == 400 and check(response, BULK)["errorCode"] in ("PARSE_ERROR", "INVALID_CONTEXT")


def test_answers_the_document_gives_no_schema_for(http):
    """401 has no body in the document; an unknown environment is our 404, which the document has
    only for a single flag: there it is flagNotFound, and for bulk the shape of its bulk failure."""
    assert "content" not in response_spec(SINGLE, 401)
    assert httpx.post(str(http.base_url) + "/ofrep/v1/evaluate/flags/bool.on", json={"context": {}}).status_code == 401
    assert check(evaluate(http, "/envs/qa", "bool.on", {}), SINGLE)["errorCode"] == "FLAG_NOT_FOUND"
    assert "404" not in SPEC["paths"][BULK]["post"]["responses"]
    unknown = http.post("/envs/qa/ofrep/v1/evaluate/flags", json={"context": {}})
    assert unknown.status_code == 404
    jsonschema.Draft202012Validator(SPEC["components"]["schemas"]["bulkEvaluationFailure"]).validate(unknown.json())


# One answer the bot gives that the document as published rejects, for each patch.
NEEDS = {
    code_default_has_no_value: {"key": "a", "value": True, "variant": "on", "reason": "STATIC"},
    float_is_not_integer: {"key": "a", "value": 10, "variant": "low", "reason": "STATIC"},
    reason_is_openfeatures: {"key": "a", "value": True, "variant": "on", "reason": "DEFAULT"},
    variant_null_without_value: {"key": "a", "variant": None, "reason": "DISABLED"},
}


@pytest.mark.parametrize("patch", PATCHES, ids=lambda patch: patch.__name__)
def test_each_patch_is_needed(patch):
    def valid(spec: dict) -> bool:
        schema = response_spec(SINGLE, 200, spec)["content"]["application/json"]["schema"]
        return jsonschema.Draft202012Validator(schema).is_valid(NEEDS[patch])

    assert valid(SPEC)
    assert not valid(patched([other for other in PATCHES if other is not patch]))


def test_the_patched_document_still_rejects_what_the_published_one_means_to():
    validator = jsonschema.Draft202012Validator(response_spec(SINGLE, 200)["content"]["application/json"]["schema"])
    for answer in (
        {"key": "a", "value": 1, "variant": None, "reason": "STATIC"},  # null variant only without a value
        {"key": "a", "value": 1.5, "variant": "x", "reason": "SOMETHING"},
        {"key": "a", "value": [1], "variant": "x", "reason": "STATIC"},
        {"key": "a", "value": None, "variant": "x", "reason": "STATIC"},
        {"value": True, "reason": "STATIC"},
    ):
        assert not validator.is_valid(answer), answer
    assert validator.is_valid({"key": "a", "value": 1.5, "variant": "x", "reason": "SPLIT"})
