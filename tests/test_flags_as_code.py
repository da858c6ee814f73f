"""Flags as code over HTTP: flagd definitions put, read and archived through /api/v1, checked as
flagd checks them, recorded with actor `api`, announced, and evaluated at once through OFREP."""

from __future__ import annotations

import httpx
import pytest

from bot.flags import service

from tests.conftest import API_TOKEN
from tests.test_slack_door import wait_for

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
COLOURS = {"state": "ENABLED", "variants": {"red": "#f00", "blue": "#00f"}, "defaultVariant": "red",
           "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "blue", None]}, "metadata": {"team": "ux"}}


@pytest.fixture
def http(bot):
    with httpx.Client(base_url=bot.url, headers=AUTH) as client:
        yield client


def evaluate(http, key: str, env: str = "production", **context):
    return http.post(f"/envs/{env}/ofrep/v1/evaluate/flags/{key}", json={"context": context}).json()


def test_put_get_and_delete_one_definition_in_a_protected_environment(bot, http, fake_slack):
    assert http.put("/api/v1/envs/production/flags/banner", json=COLOURS).json()["created"] == ["banner"]
    assert http.get("/api/v1/envs/production/flags/banner").json() == COLOURS
    assert evaluate(http, "banner", email="ann@example.com") == {"key": "banner", "value": "#00f", "variant": "blue", "reason": "TARGETING_MATCH", "metadata": {"team": "ux"}}
    assert evaluate(http, "banner", email="x@y.org")["reason"] == "DEFAULT"
    assert evaluate(http, "banner", "staging")["value"] == "#f00"  # elsewhere: serving the first variant
    again = http.put("/api/v1/envs/production/flags/banner", json=COLOURS).json()
    assert again["unchanged"] == ["banner"]
    disabled = http.put("/api/v1/envs/production/flags/banner", json={**COLOURS, "state": "DISABLED"}).json()
    assert disabled["changed"] == ["banner"]
    assert evaluate(http, "banner") == {"key": "banner", "reason": "DISABLED", "variant": None, "metadata": {"team": "ux"}}
    assert http.delete("/api/v1/envs/production/flags/banner").json() == {"key": "banner", "archived": True}
    assert http.get("/api/v1/envs/production/flags/banner").status_code == 404
    assert evaluate(http, "banner")["errorCode"] == "FLAG_NOT_FOUND"
    _, changes = service.history(bot.runtime.db, "banner")
    assert [(c.actor, c.action) for c in changes] == [("api", "archive"), ("api", "define"), ("api", "define"), ("api", "create")]
    said = wait_for(lambda: [m["text"] for m in fake_slack.messages("C0FLAGS") if "set through the API" in m["text"]])
    wait_for(lambda: any("`banner` in *production* is now disabled (applications get their own default)" in m["text"] for m in fake_slack.messages("C0FLAGS")))


def test_a_document_replaces_the_flags_it_names_and_leaves_the_others(bot, http):
    http.put("/api/v1/envs/staging/flags/kept", json={"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"})
    document = {
        "flags": {
            "a": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off", "targeting": {"if": [{"$ref": "staff"}, "on", "off"]}},
            "limit": {"state": "ENABLED", "variants": {"low": 10, "high": 100}, "defaultVariant": "low"},
        },
        "$evaluators": {"staff": {"starts_with": [{"var": "email"}, "admin@"]}},
    }
    answer = http.put("/api/v1/envs/staging/flags", json=document).json()
    assert answer["created"] == ["a", "limit"] and answer["warnings"] == []
    assert evaluate(http, "a", "staging", email="admin@x.org")["value"] is True
    assert evaluate(http, "limit", "staging")["value"] == 10
    assert evaluate(http, "kept", "staging")["value"] is True
    exported = http.get("/envs/staging/flagd.json")
    assert set(exported.json()["flags"]) == {"a", "kept", "limit"}
    assert http.get("/envs/staging/flagd.json", headers={"If-None-Match": exported.headers["etag"]}).status_code == 304
    assert http.put("/api/v1/envs/production/flags/limit", json={**document["flags"]["limit"], "defaultVariant": "high"}).json()["changed"] == ["limit"]
    assert http.get("/envs/staging/flagd.json", headers={"If-None-Match": exported.headers["etag"]}).status_code == 304  # per environment


def test_definitions_that_cannot_be_flags_are_400_naming_each_problem_and_change_nothing(bot, http):
    document = {"flags": {
        "ok": {"state": "ENABLED", "variants": {"on": True}, "defaultVariant": "on"},
        "mixed": {"state": "ENABLED", "variants": {"a": 1, "b": "x"}, "defaultVariant": "a"},
        "stray": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "b"},
        "rule": {"state": "ENABLED", "variants": {"a": 1}, "defaultVariant": "a", "targeting": "a"},
        "empty": {"state": "ENABLED", "defaultVariant": "a"},
        "scalar": 3,
    }}
    answer = http.put("/api/v1/envs/staging/flags", json=document)
    assert answer.status_code == 400
    problems = " | ".join(answer.json()["problems"])
    for named in ("mixed: variants mix types", "stray: defaultVariant 'b'", "rule: targeting must be", "empty: variants must be", "scalar: a flag definition must be"):
        assert named in problems
    assert http.get("/api/v1/envs/staging/flags/ok").status_code == 404
    assert http.put("/api/v1/envs/staging/flags/x", content=b"{nope").status_code == 400


def test_targeting_flagd_loads_but_its_schema_rejects_is_accepted_with_warnings(bot, http):
    odd = {"state": "ENABLED", "variants": {"a": "A", "b": "B"}, "defaultVariant": "a", "targeting": {"no_such_op": [1]}}
    answer = http.put("/api/v1/envs/staging/flags/odd", json=odd).json()
    assert answer["created"] == ["odd"] and any("no_such_op" in w for w in answer["warnings"])
    assert evaluate(http, "odd", "staging")["errorCode"] == "PARSE_ERROR"


def test_the_flags_api_is_closed_without_the_token(bot):
    with httpx.Client(base_url=bot.url) as client:
        assert client.get("/api/v1/envs/staging/flags/x").status_code == 401
        assert client.put("/api/v1/envs/staging/flags", json={"flags": {}}).status_code == 401


def test_a_documents_flag_set_metadata_reaches_every_flag_its_own_keys_winning(bot, http):
    document = {
        "metadata": {"team": "payments", "version": 3},
        "flags": {
            "plain": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on"},
            "own": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on", "metadata": {"team": "ux"}},
        },
    }
    assert http.put("/api/v1/envs/staging/flags", json=document).status_code == 200
    assert evaluate(http, "plain", "staging")["metadata"] == {"team": "payments", "version": 3}
    assert evaluate(http, "own", "staging")["metadata"] == {"team": "ux", "version": 3}
    refused = http.put("/api/v1/envs/staging/flags", json={**document, "metadata": {"nested": {"no": 1}}})
    assert refused.status_code == 400 and "flag set" in str(refused.json())
