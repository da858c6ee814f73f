"""Migration 0008 turns each old flag state (enabled, rollout, targets) into a flagd definition
that answers as the old rules did, for 10,000 targeting keys, on SQLite and PostgreSQL."""

from __future__ import annotations

import mmh3
from alembic import command
from sqlalchemy import text

from bot.flags.evaluation import evaluate
from bot.flags.snapshots import Snapshots
from storage import Database
from tests.conftest import START

OLD_STATES = {  # key -> (enabled, rollout, targets)
    "off": (False, 100, []),
    "off-kept-rollout": (False, 30, ["u-1"]),
    "on": (True, 100, []),
    "nobody": (True, 0, []),
    "named": (True, 0, ["user-7", "user-99"]),
    "named-and-all": (True, 100, ["user-7"]),
    "rollout": (True, 37, []),
    "rollout-and-named": (True, 10, ["user-3", "user-4000"]),
}


def old_answer(key: str, enabled: bool, rollout: int, targets: list, targeting_key: str) -> tuple:
    """The turn-1 rules, written out: off is false; a listed key is on; a rollout is on below
    flagd's bucket of MurmurHash3 over CBOR [flag key, targeting key]."""
    if not enabled:
        return False, "off", "DISABLED"
    partial = 0 < rollout < 100
    if not partial and not targets:
        return rollout == 100, "on" if rollout == 100 else "off", "STATIC"
    if targeting_key in targets:
        return True, "on", "TARGETING_MATCH"
    if not partial:
        return rollout == 100, "on" if rollout == 100 else "off", "TARGETING_MATCH"
    cbor = b"\x82" + bytes((0x60 | len(key),)) + key.encode() + bytes((0x60 | len(targeting_key),)) + targeting_key.encode()
    on = (mmh3.hash(cbor, signed=False) * 100) >> 32 < rollout
    return on, "on" if on else "off", "TARGETING_MATCH"


def test_old_flags_answer_the_same_for_ten_thousand_keys_after_the_migration(database_url):
    db = Database(database_url)
    config = db._alembic()
    with db._writer.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")  # the last revision before flags became flagd definitions
    with db._writer.begin() as connection:
        for key, (enabled, rollout, targets) in OLD_STATES.items():
            connection.execute(
                text("INSERT INTO flags (key, type, description, owner, created_by, created_at) VALUES (:k, 'release', '', 'U0DANA', 'U0DANA', :at)"),
                {"k": key, "at": START},
            )
            connection.execute(
                text("INSERT INTO flag_states (flag_key, environment, enabled, rollout, targets, updated_at, updated_by) "
                     "VALUES (:k, 'production', :e, :r, :t, :at, 'U0DANA')"),
                {"k": key, "e": enabled, "r": rollout, "t": __import__("json").dumps(targets), "at": START},
            )
        connection.execute(
            text("INSERT INTO flag_changes (flag_key, environment, at, actor, action, before, after) "
                 "VALUES ('rollout', 'production', :at, 'U0DANA', 'rollout', :b, :a)"),
            {"at": START, "b": '{"enabled": false, "rollout": 100, "targets": []}', "a": '{"enabled": true, "rollout": 37, "targets": []}'},
        )
    db.upgrade()
    snapshot = Snapshots(db).current("production")
    differences = []
    for i in range(10_000):
        targeting_key = f"user-{i}"
        for key, state in OLD_STATES.items():
            value, variant, reason = old_answer(key, *state, targeting_key)
            result = evaluate(snapshot, key, {"targetingKey": targeting_key})
            # an off flag now serves its `off` variant (STATIC): DISABLED means "the caller's default" in flagd
            expected = (value, variant, "STATIC" if reason == "DISABLED" else reason)
            if (result.value, result.variant, result.reason) != expected:
                differences.append((key, targeting_key, expected, result))
    assert differences == []
    with db.reading() as session:
        after = session.execute(text("SELECT after FROM flag_changes")).scalar_one()
    assert "fractional" in str(after)  # the audit trail reads in the new form too
    db.dispose()
