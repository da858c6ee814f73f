"""Run flagd's test bed evaluation scenarios against releasebot over OFREP.

    python -m bench.flagd_testbed PATH-OF-A-FLAGD-TESTBED-CHECKOUT

The test bed (github.com/open-feature/flagd-testbed) carries no licence, so none of it ships
here: this script reads a checkout you provide. It starts the bot (SQLite, Slack faked on
127.0.0.1) and PUTs flagd documents through /api/v1/envs/<env>/flags, one environment per flag
source, since the sources reuse keys with other definitions: `staging` gets the evaluator suite's
evaluator/flags/testkit-flags.json; `all` gets flags/*.json but selector-* deep-merged (the
test bed's flags/allFlags.json); `selector` and `set-metadata` get the two selector-* files (a
`selector` option picks that environment). It then plays every row of evaluator/gherkin/*.feature
and of the provider-level gherkin/*.feature that are about evaluation through the OpenFeature
Python SDK and its OFREP provider, and prints per feature and suite the rows passed, each failure
with why, what is skipped or not played and why, and the overall share (exit 1 below 95%).
Rows tagged @fractional-v1 and @fractional-v2 state the pre-ADR hashes and are skipped: we follow
fractional-v3 (openfeature-flagd-core 2.x).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
from pathlib import Path

import httpx
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext

from bot.clock import SystemClock
from bot.config import Config
from bot.slack.fake import FakeSlack
from storage import Database
from tests.conftest import API_TOKEN, make_runtime
from tests.harness import start_bot

STEP = re.compile(r'^\s*(Given|When|Then|And|But)\s+(.*)$')


def scenarios(feature: str):
    """(name, steps, row) for each Scenario and each Examples row of a Scenario Outline."""
    lines = feature.splitlines()
    background: list[str] = []
    tags: set[str] = set()
    current = None
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if line.startswith("@"):
            tags |= set(line.split())
            continue
        if line.startswith("Background:"):
            current = {"steps": background, "tags": set(), "name": "background"}
            continue
        if line.startswith(("Scenario:", "Scenario Outline:")):
            if current and current["name"] != "background" and not current.get("outline"):
                yield current["name"], current["tags"], background + current["steps"], {}
            current = {"name": line.split(":", 1)[1].strip(), "tags": set(tags), "steps": [], "outline": "Outline" in line}
            tags = set()
            continue
        if line.startswith("Examples"):
            example_tags, tags = set(tags), set()
            header = None
            while i < len(lines) and (lines[i].strip().startswith("|") or not lines[i].strip()):
                cells = [c.strip().replace('\\"', '"') for c in lines[i].strip().strip("|").split("|")]
                i += 1
                if not lines[i - 1].strip():
                    continue
                if header is None:
                    header = cells
                elif current is not None:
                    row = dict(zip(header, cells))
                    yield current["name"], current["tags"] | example_tags, background + current["steps"], row
            continue
        match = STEP.match(lines[i - 1])
        if match and current is not None:
            step = match[2]
            while i < len(lines) and lines[i].strip().startswith("|"):  # a data table under the step
                step += "\n" + lines[i].strip()
                i += 1
            current["steps"].append(step)
    if current and current["name"] != "background" and not current.get("outline"):
        yield current["name"], current["tags"], background + current["steps"], {}


def typed(kind: str, text: str):
    kind = kind.lower()
    if kind == "boolean":
        return text.lower() == "true"
    if kind == "integer":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "object":
        return json.loads(text) if text else {}
    return text


def play(clients: dict, steps: list[str], row: dict) -> str | None:
    """None when every Then holds, else what went wrong. A flagd `selector` option picks the
    environment holding that flag source (flag sets are environments here)."""
    def fill(step: str) -> str:
        return re.sub(r"<([^>]+)>", lambda m: row.get(m[1], m[0]), step)

    kind, key, default, targeting_key, attributes, details = "String", "", None, None, {}, None
    client = clients[None]
    for step in map(fill, steps):
        if m := re.match(r'an? (\w+)-flag with key "(.*)" and a (?:fallback|default) value "(.*)"', step):
            kind, key, default = m[1], m[2], typed(m[1], m[3])
        elif m := re.match(r'a context containing a targeting key with value "(.*)"', step):
            targeting_key = m[1]
        elif m := re.match(r'a context containing a nested property with outer key "(.*)" and inner key "(.*)", with value "(.*)"', step):
            attributes.setdefault(m[1], {})[m[2]] = m[3]
        elif m := re.match(r'a context containing a key "(.*)", with type "(.*)" and with value "(.*)"', step):
            attributes[m[1]] = typed(m[2], m[3])
        elif step.startswith("the flag was evaluated with details"):
            method = getattr(client, f"get_{kind.lower()}_details")
            details = method(key, default, EvaluationContext(targeting_key, attributes))
        elif m := re.match(r'the resolved details value should be "(.*)"', step):
            expected = typed(kind, m[1])
            if details.value != expected:
                return f"value {details.value!r} != {expected!r} ({details.reason}, {details.error_code}: {details.error_message})"
        elif m := re.match(r'the reason should be "(.*)"', step):
            if str(getattr(details.reason, "value", details.reason)) != m[1]:
                return f"reason {details.reason} != {m[1]} ({details.error_message})"
        elif m := re.match(r'the variant should be "(.*)"', step):
            if (details.variant or "") != m[1]:
                return f"variant {details.variant!r} != {m[1]!r}"
        elif m := re.match(r'the error-code should be "(.*)"', step):
            if str(getattr(details.error_code, "value", details.error_code) or "") != m[1]:
                return f"error code {details.error_code} != {m[1]}"
        elif step.startswith("the resolved metadata is empty"):
            if details.flag_metadata:
                return f"metadata {dict(details.flag_metadata)} is not empty"
        elif step.startswith("the resolved metadata should contain"):
            table = [[c.strip() for c in line.strip("|").split("|")] for line in step.splitlines()[1:]]
            for name, kind_, value in table[1:]:
                if details.flag_metadata.get(name) != typed(kind_, value):
                    return f"metadata {name}={details.flag_metadata.get(name)!r} != {value!r}"
        elif m := re.match(r'an option "selector" of type "String" with value "(.*)"', step):
            client = clients[m[1]]
        elif re.match(r'an option "cache" of type "CacheType" with value "disabled"', step):
            continue  # OFREP evaluates every call on the server
        elif step.startswith(("an evaluator", "a stable flagd provider", "a flagd provider", "a metadata flagd provider")):
            continue
        else:
            return f"step not understood: {step}"
    return None


# The provider-level suites (gherkin/) that are not about evaluation, and why they are not played.
NOT_PLAYED = {
    "config.feature": "provider options (host, port, TLS, resolver type, env vars), not evaluation",
    "connection.feature": "a provider's connection, reconnects and errors on loss",
    "contextEnrichment.feature": "flagd's sync stream injecting context (`context-value`), and grace periods on connection loss",
    "events.feature": "provider events (ready, change, stale, error)",
    "rpc-caching.feature": "the RPC provider's cache",
    "sync-payload.feature": "the in-process sync stream's payload",
}
# Scenarios of the played suites that are skipped on purpose (tag -> why).
SKIP_REASONS = {
    "@fractional-v1": "pre-ADR hash (we follow fractional-v3)",
    "@fractional-v2": "pre-ADR hash (we follow fractional-v3)",
    "@deprecated": "the deprecated no-default rows (FLAG_NOT_FOUND) contradict the @no-default-variant ones (DEFAULT), which we follow",
}
# Why the rows known to fail fail (feature, scenario) -> why; printed with each failure.
KNOWN = {
    ("metadata.feature", "Returns flag set metadata"): "a flagd document's own `metadata` (flag set metadata) is not kept by PUT /api/v1/envs/<env>/flags; only each flag's",
    ("metadata.feature", "Flag metadata overwrites flag set metadata"): "flag set metadata is not kept (as above)",
    ("selector.feature", "Flags not found"): "an environment is not a flag set: a flag exists in every environment, so a key defined elsewhere is served (STATIC) here too",
    ("targeting.feature", "Fractional operator invalid implicit inputs"): "OFREP's schema makes targetingKey a string: a number or boolean is refused with INVALID_CONTEXT where flagd ignores it and answers DEFAULT",
}
# The flag sources a flagd test bed serves: every flags/*.json but selector-* deep-merged into
# flags/allFlags.json (as its launchpad does), and each selector-* file on its own.
SOURCES = {"flags/allFlags.json": "all", "rawflags/selector-flags.json": "selector", "rawflags/selector-flag-combined-metadata.json": "set-metadata"}


def merged(a: dict, b: dict) -> dict:
    """b deep-merged over a, as the test bed's launchpad combines its flag files."""
    out = dict(a)
    for key, value in b.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def documents(testbed: Path) -> dict[str, dict]:
    """Environment -> the flagd document it serves."""
    every: dict = {}
    for path in sorted((testbed / "flags").glob("*.json")):
        if not path.name.startswith("selector-"):
            every = merged(every, json.loads(path.read_text()))
    return {
        "staging": json.loads((testbed / "evaluator/flags/testkit-flags.json").read_text()),
        "all": every,
        "selector": json.loads((testbed / "flags/selector-flags.json").read_text()),
        "set-metadata": json.loads((testbed / "flags/selector-flag-combined-metadata.json").read_text()),
    }


def run_suite(title: str, features: list[Path], clients: dict) -> tuple[int, int]:
    """Plays every row of the features; prints each failure and skip; (passed, played)."""
    passed, played, skipped = 0, 0, {}
    for feature in features:
        if feature.name in NOT_PLAYED:
            print(f"NOT PLAYED {title}/{feature.name}: {NOT_PLAYED[feature.name]}")
            continue
        counts = [0, 0]
        for name, tags, steps, row in scenarios(feature.read_text()):
            if why := next((SKIP_REASONS[t] for t in sorted(tags) if t in SKIP_REASONS), None):
                skipped[why] = skipped.get(why, 0) + 1
                continue
            problem = play(clients, steps, row)
            counts[0] += problem is None
            counts[1] += 1
            if problem is not None:
                why = KNOWN.get((feature.name, name), "not known")
                print(f"FAIL {title}/{feature.name}: {name} {row}: {problem}; why: {why}")
        print(f"{title}/{feature.name}: {counts[0]} of {counts[1]} rows pass")
        passed, played = passed + counts[0], played + counts[1]
    for why, count in skipped.items():
        print(f"{title}: {count} rows skipped: {why}")
    print(f"{title}: {passed} of {played} rows pass\n")
    return passed, played


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("testbed", type=Path, help="a checkout of github.com/open-feature/flagd-testbed")
    args = parser.parse_args()
    logging.getLogger("openfeature.contrib").setLevel(logging.CRITICAL)  # flagd-core logs each operator error the rows provoke
    docs = documents(args.testbed)
    with tempfile.TemporaryDirectory(prefix="releasebot-testbed-") as tmp:
        db = Database(f"sqlite:///{tmp}/releasebot.db")
        db.upgrade()
        fake = FakeSlack().start()
        config = Config.model_validate({"flags": {"environments": list(docs), "default_environment": "staging", "protected": []}})
        bot = start_bot(make_runtime(db, fake, config, SystemClock()))
        auth = {"Authorization": f"Bearer {API_TOKEN}"}
        try:
            for env, doc in docs.items():
                put = httpx.put(f"{bot.url}/api/v1/envs/{env}/flags", json=doc, headers=auth, timeout=30)
                print(f"loaded {len(doc['flags'])} flags into {env}: HTTP {put.status_code}, {len(put.json().get('warnings', []))} warnings")
                if put.status_code != 200:
                    print(json.dumps(put.json(), indent=1)[:3000])
                    return 1
            clients = {}
            for env in docs:
                api.set_provider(OFREPProvider(f"{bot.url}/envs/{env}", headers_factory=lambda: auth), env)
                clients[env] = api.get_client(env)
            clients.update({source: clients[env] for source, env in SOURCES.items()})
            clients[None] = clients["staging"]
            totals = [run_suite("evaluator", sorted((args.testbed / "evaluator/gherkin").glob("*.feature")), clients)]
            clients[None] = clients["all"]
            totals.append(run_suite("gherkin", sorted((args.testbed / "gherkin").glob("*.feature")), clients))
            passed, played = sum(p for p, _ in totals), sum(n for _, n in totals)
            print(f"overall: {passed} of {played} rows pass ({passed / max(1, played):.1%})")
            return 0 if passed / max(1, played) >= 0.95 else 1
        finally:
            bot.stop()
            fake.stop()
            db.dispose()


if __name__ == "__main__":
    sys.exit(main())
