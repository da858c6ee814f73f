"""OFREP and flagd.json over real HTTP against the running bot, on SQLite and PostgreSQL: the real
OpenFeature SDK with the OFREP provider, raw requests for every error answer, flagd's own
evaluator loaded from our export, and a kill switch committed by another process."""

from __future__ import annotations

import asyncio
import importlib
import itertools
import json
import sqlite3
import threading
import time

import httpx
import pytest
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.contrib.tools.flagd.core import FlagdCore
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

import storage.flags as store
from bot.api.ofrep import SharedReads
from bot.flags.evaluation import evaluate, flagd_document
from bot.flags.model import Flag, FlagSnapshot, FlagType
from bot.flags.snapshots import Snapshots
from storage import Database
from tests.conftest import API_TOKEN, START

definition_of = importlib.import_module("storage.migrations.versions.0010_flag_definitions").definition_of

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
domains = itertools.count()


def FlagState(enabled: bool = False, rollout: int = 100, targets: tuple = ()) -> dict:  # noqa: N802 - the old model's name
    """The definition /flag leaves for what the old model called (enabled, rollout, targets)."""
    return definition_of(enabled, rollout, list(targets))


def same_as_flagd(ours, theirs) -> bool:
    return (ours.value, ours.variant, ours.reason) == (theirs.value, theirs.variant, theirs.reason.value)


def put(db: Database, key: str, states: dict[str, dict], *, create: bool = True) -> None:
    """One committed change, as the /flag service makes it: definitions, then the shared version."""
    with db.transaction() as session:
        if create:
            flag = Flag(key=key, type=FlagType.RELEASE, description="", owner="U0DANA", created_by="U0DANA", created_at=START)
            store.create(session, flag)
        for environment, state in states.items():
            store.set_definition(session, key, environment, state, "U0DANA", START)
        store.bump_version(session)


@pytest.fixture
def http(bot):
    with httpx.Client(base_url=bot.url, headers=AUTH) as client:
        yield client


def ofrep(http: httpx.Client, path: str, body: object = None, *, content: bytes | None = None, headers: dict | None = None):
    """POST an OFREP request: `body` as JSON ({"context": {}} by default), or raw `content`."""
    if content is None:
        content = json.dumps({"context": {}} if body is None else body).encode()
    return http.post(path, content=content, headers={"Content-Type": "application/json", **(headers or {})})


@pytest.fixture
def openfeature_client(bot):
    """An OpenFeature client whose provider is OFREP against the bot at `base_url = <bot><path>`."""

    def client(path: str = "", headers: dict | None = AUTH):
        domain = f"releasebot-{next(domains)}"
        api.set_provider(OFREPProvider(bot.url + path, headers_factory=lambda: dict(headers or {})), domain)
        return api.get_client(domain)

    yield client
    api.clear_providers()


def test_the_openfeature_sdk_reads_values_reasons_and_variants_through_ofrep(bot, openfeature_client):
    db = bot.runtime.db
    put(db, "checkout.total", {"production": FlagState(enabled=True)})
    put(db, "search.ranker", {"production": FlagState(enabled=True, rollout=30, targets=("vip",))})
    put(db, "dark", {})
    production = openfeature_client("/envs/production")

    def answer(client, key, targeting_key=None, default=False):
        details = client.get_boolean_details(key, default, EvaluationContext(targeting_key, {"plan": "pro"}))
        return details.value, details.variant, details.reason, details.error_code

    assert answer(production, "checkout.total", "u1") == (True, "on", Reason.STATIC, None)
    assert answer(production, "dark", "u1", default=True) == (False, "off", Reason.STATIC, None)  # off serves `off`
    assert answer(production, "search.ranker", "vip") == (True, "on", Reason.TARGETING_MATCH, None)
    snapshot = bot.runtime.flag_snapshots.current("production")
    in_rollout = 0
    for i in range(60):
        value, variant, reason, error = answer(production, "search.ranker", f"user-{i}")
        expected = evaluate(snapshot, "search.ranker", {"targetingKey": f"user-{i}"})
        assert (value, variant, reason, error) == (expected.value, expected.variant, Reason.TARGETING_MATCH, None)
        in_rollout += value
    assert 0 < in_rollout < 60

    value, variant, reason, error = answer(production, "search.ranker", None, default=True)
    assert (value, variant, reason, error) == (False, "off", Reason.DEFAULT, None)  # flagd: fractional cannot bucket
    missing = production.get_boolean_details("no-such-flag", True, EvaluationContext("u1"))
    assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
    assert "no-such-flag" in missing.error_message

    staging, default = openfeature_client("/envs/staging"), openfeature_client("")
    assert answer(staging, "checkout.total", "u1") == (False, "off", Reason.STATIC, None)
    assert answer(default, "checkout.total", "u1") == (False, "off", Reason.STATIC, None)
    denied = openfeature_client("/envs/production", headers=None).get_boolean_details("checkout.total", False)
    assert (denied.value, denied.error_code, denied.error_message) == (False, ErrorCode.GENERAL, "unauthorized")


FLAG_PATHS = [
    "/ofrep/v1/evaluate/flags/checkout.total",
    "/ofrep/v1/evaluate/flags",
    "/envs/production/ofrep/v1/evaluate/flags/checkout.total",
    "/envs/production/ofrep/v1/evaluate/flags",
]


def test_every_flag_endpoint_is_closed_without_the_bearer_token(bot, http):
    put(bot.runtime.db, "checkout.total", {"production": FlagState(enabled=True)})
    for path in FLAG_PATHS:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_TOKEN}"}):
            response = httpx.post(bot.url + path, json={"context": {}}, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert response.headers["www-authenticate"].startswith("Bearer")
        assert ofrep(http, path).status_code == 200, path
    assert httpx.get(bot.url + "/envs/production/flagd.json").status_code == 401
    assert http.get("/envs/production/flagd.json").status_code == 200


def test_unknown_flags_and_environments_are_404_with_details(bot, http):
    put(bot.runtime.db, "checkout.total", {"production": FlagState(enabled=True)})
    response = ofrep(http, "/envs/production/ofrep/v1/evaluate/flags/nope", {"context": {"targetingKey": "u1"}})
    assert response.status_code == 404
    assert response.json()["key"] == "nope" and response.json()["errorCode"] == "FLAG_NOT_FOUND"
    assert "'nope'" in response.json()["errorDetails"]

    for path in ("/envs/qa/ofrep/v1/evaluate/flags/checkout.total", "/envs/qa/ofrep/v1/evaluate/flags"):
        response = ofrep(http, path)
        assert response.status_code == 404
        assert response.json()["errorDetails"] == "unknown environment 'qa'; environments: staging, production"
    assert ofrep(http, "/envs/qa/ofrep/v1/evaluate/flags/checkout.total").json()["errorCode"] == "FLAG_NOT_FOUND"
    response = http.get("/envs/qa/flagd.json")
    assert response.status_code == 404
    assert response.json()["environments"] == ["staging", "production"]


BAD_BODIES = [
    (b"", "PARSE_ERROR"),
    (b"{not json", "PARSE_ERROR"),
    (b"[]", "INVALID_CONTEXT"),
    (b"{}", "INVALID_CONTEXT"),
    (b'{"context": "u1"}', "INVALID_CONTEXT"),
    (b'{"context": {"targetingKey": 42}}', "INVALID_CONTEXT"),
    (b'{"context": {"targetingKey": ["u1"]}}', "INVALID_CONTEXT"),
]


def test_a_body_without_a_usable_context_is_400_with_an_error_code(bot, http):
    put(bot.runtime.db, "checkout.total", {"production": FlagState(enabled=True)})
    for path in FLAG_PATHS:
        for content, code in BAD_BODIES:
            response = ofrep(http, path, content=content)
            assert response.status_code == 400, (path, content)
            assert response.json()["errorCode"] == code, (path, content)
            assert response.json()["errorDetails"]
            if not path.endswith("/flags"):
                assert response.json()["key"] == "checkout.total"
    rolled = ofrep(http, "/envs/production/ofrep/v1/evaluate/flags/rolled", content=b'{"context": {}}')
    assert rolled.status_code == 404  # the body is fine; the flag is unknown
    put(bot.runtime.db, "rolled", {"production": FlagState(enabled=True, rollout=40)})
    rolled = ofrep(http, "/envs/production/ofrep/v1/evaluate/flags/rolled", content=b'{"context": {}}')
    assert rolled.status_code == 200 and rolled.json() == {"key": "rolled", "value": False, "variant": "off", "reason": "DEFAULT"}


def test_bulk_evaluation_has_an_etag_and_is_304_until_a_flag_or_the_context_changes(bot, http):
    db = bot.runtime.db
    put(db, "b.flag", {"production": FlagState(enabled=True, rollout=50)})
    put(db, "a.flag", {"production": FlagState(enabled=True)})
    put(db, "c.flag", {})
    path = "/envs/production/ofrep/v1/evaluate/flags"
    context = {"context": {"targetingKey": "user-1", "plan": "pro"}}
    first = ofrep(http, path, context)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert [f["key"] for f in first.json()["flags"]] == ["a.flag", "b.flag", "c.flag"]
    assert first.json()["flags"][0] == {"key": "a.flag", "value": True, "reason": "STATIC", "variant": "on"}
    assert first.json()["flags"][2] == {"key": "c.flag", "value": False, "reason": "STATIC", "variant": "off"}
    assert first.json()["metadata"]["environment"] == "production"

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = ofrep(http, path, context, headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.content == b"" and again.headers["etag"] == etag
    reordered = ofrep(http, path, {"context": {"plan": "pro", "targetingKey": "user-1"}}, headers={"If-None-Match": etag})
    assert reordered.status_code == 304
    other_user = ofrep(http, path, {"context": {"targetingKey": "user-2", "plan": "pro"}}, headers={"If-None-Match": etag})
    assert other_user.status_code == 200 and other_user.headers["etag"] != etag
    assert ofrep(http, "/envs/staging/ofrep/v1/evaluate/flags", context).headers["etag"] != etag

    put(db, "a.flag", {"production": FlagState(enabled=False)}, create=False)
    changed = ofrep(http, path, context, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["flags"][0] == {"key": "a.flag", "value": False, "reason": "STATIC", "variant": "off"}
    keyless = ofrep(http, path, {"context": {}}).json()["flags"]
    assert keyless[1] == {"key": "b.flag", "value": False, "reason": "DEFAULT", "variant": "off"}


def test_each_environment_answers_for_itself_and_the_default_is_staging(bot, http):
    put(bot.runtime.db, "beta", {"staging": FlagState(enabled=True), "production": FlagState(enabled=False)})
    body = {"context": {"targetingKey": "u1"}}
    assert ofrep(http, "/envs/staging/ofrep/v1/evaluate/flags/beta", body).json()["value"] is True
    assert ofrep(http, "/envs/production/ofrep/v1/evaluate/flags/beta", body).json()["value"] is False
    assert ofrep(http, "/ofrep/v1/evaluate/flags/beta", body).json() == {"key": "beta", "value": True, "reason": "STATIC", "variant": "on"}
    assert ofrep(http, "/ofrep/v1/evaluate/flags", body).json() == ofrep(http, "/envs/staging/ofrep/v1/evaluate/flags", body).json()


FLAGD_SET = {
    "everyone": FlagState(enabled=True),
    "no-one": FlagState(enabled=True, rollout=0),
    "killed": FlagState(enabled=False, rollout=40, targets=("user-5",)),
    "ten": FlagState(enabled=True, rollout=10),
    "named": FlagState(enabled=True, rollout=0, targets=("user-3", "user-77")),
    "most.of-them": FlagState(enabled=True, rollout=83, targets=("user-9001",)),
}


def test_flagd_loaded_from_our_flagd_json_answers_as_our_ofrep_endpoint(bot, http):
    for key, state in FLAGD_SET.items():
        put(bot.runtime.db, key, {"production": state})
    exported = http.get("/envs/production/flagd.json")
    assert exported.status_code == 200 and exported.headers["content-type"] == "application/json"
    assert exported.json()["$schema"] == "https://flagd.dev/schema/v0/flags.json"
    snapshot = bot.runtime.flag_snapshots.current("production")
    assert exported.json() == flagd_document(snapshot)
    core = FlagdCore()
    core.set_flags(exported.text)

    def theirs(flag, key):
        return core.resolve_boolean_value(flag, False, EvaluationContext(key))

    for i in range(10_000):  # the function both OFREP endpoints call, on the snapshot they read
        key = f"user-{i}"
        for flag in FLAGD_SET:
            assert same_as_flagd(evaluate(snapshot, flag, {"targetingKey": key}), theirs(flag, key)), (flag, key)

    def same_over_http(answer: dict, flag: str, key: str) -> bool:
        expected = theirs(flag, key)
        return answer == {"key": flag, "value": expected.value, "reason": expected.reason.value, "variant": expected.variant}

    for i in range(0, 10_000, 25):  # 400 bulk requests, each answering every flag
        key = f"user-{i}"
        answers = http.post("/envs/production/ofrep/v1/evaluate/flags", json={"context": {"targetingKey": key}}).json()
        assert all(same_over_http(answer, answer["key"], key) for answer in answers["flags"]), key
    for i in range(3, 10_000, 97):  # and 100 single evaluations of each rollout
        for flag in ("ten", "most.of-them"):
            answer = http.post(f"/envs/production/ofrep/v1/evaluate/flags/{flag}", json={"context": {"targetingKey": f"user-{i}"}})
            assert same_over_http(answer.json(), flag, f"user-{i}"), (flag, i)


def test_a_flag_turned_off_by_another_process_is_off_at_the_very_next_request(bot, http):
    put(bot.runtime.db, "kill.me", {"production": FlagState(enabled=True, rollout=100)})
    other_process = Database(bot.runtime.env.database_url)
    single = "/envs/production/ofrep/v1/evaluate/flags/kill.me"
    bulk = "/envs/production/ofrep/v1/evaluate/flags"
    body = {"context": {"targetingKey": "u1"}}
    off = {"key": "kill.me", "value": False, "reason": "STATIC", "variant": "off"}
    try:
        for round_ in range(10):
            assert http.post(single, json=body).json()["value"] is True, round_  # cached, and on
            etag = http.post(bulk, json=body).headers["etag"]
            put(other_process, "kill.me", {"production": FlagState(enabled=False)}, create=False)
            assert http.post(single, json=body).json() == off, round_
            after = http.post(bulk, json=body, headers={"If-None-Match": etag})
            assert after.status_code == 200 and after.json()["flags"][0] == off, round_
            assert http.get("/envs/production/flagd.json").json()["flags"]["kill.me"]["defaultVariant"] == "off"
            put(other_process, "kill.me", {"production": FlagState(enabled=True)}, create=False)
    finally:
        other_process.dispose()


def test_requests_that_arrive_during_a_read_share_the_next_read_which_starts_after_them():
    """Sharing reads must not make anyone stale: a request that comes in while a read runs may
    not take that read's answer, which may predate a change committed just before it came in."""
    started, release = threading.Semaphore(0), threading.Event()
    reads_made = []

    class SlowSnapshots:
        def current(self, environment: str) -> FlagSnapshot:
            reads_made.append(environment)
            version = len(reads_made)
            started.release()
            release.wait(timeout=10)
            return FlagSnapshot(environment, version, {})

    async def scenario():
        reads = SharedReads(SlowSnapshots())
        first = asyncio.create_task(reads.current("staging"))
        await asyncio.to_thread(started.acquire)  # the first read runs in its thread
        later = [asyncio.create_task(reads.current("staging")) for _ in range(5)]
        gone = asyncio.create_task(reads.current("staging"))
        await asyncio.sleep(0)  # they all join the next read
        gone.cancel()
        release.set()
        return await first, await asyncio.gather(*later)

    first, later = asyncio.run(scenario())
    assert first.version == 1
    assert [snapshot.version for snapshot in later] == [2] * 5  # one more read, after they arrived
    assert reads_made == ["staging", "staging"]


def test_the_check_on_the_event_loop_never_waits_for_a_busy_database(db):
    put(db, "busy.flag", {"staging": FlagState(enabled=True)})
    snapshots = Snapshots(db)
    assert snapshots.current_without_waiting("staging") is None  # nothing cached yet
    cached = snapshots.current("staging")
    if not db.is_sqlite:
        assert snapshots.current_without_waiting("staging") is None  # a network round trip: a worker thread
        return
    db.dispose()  # no other connection open, so the one below may lock the file for itself alone
    locker = sqlite3.connect(db.url.database, isolation_level=None)
    try:
        locker.execute("PRAGMA locking_mode=EXCLUSIVE")
        locker.execute("BEGIN EXCLUSIVE")
        locker.execute("UPDATE flag_version SET version = version")
        start = time.perf_counter()
        assert snapshots.current_without_waiting("staging") is None
        assert time.perf_counter() - start < 1  # the pool's connections would wait up to 30 s
    finally:
        locker.close()
    assert snapshots.current_without_waiting("staging") is cached
    put(db, "busy.flag", {"staging": FlagState(enabled=False)}, create=False)
    assert snapshots.current_without_waiting("staging") is None  # changed: `current` reloads
    assert snapshots.current("staging").flags["busy.flag"]["defaultVariant"] == "off"
