"""Run flagd's test bed evaluation scenarios against releasebot over OFREP.

    python -m bench.flagd_testbed PATH-OF-A-FLAGD-TESTBED-CHECKOUT [--tags ~@fractional-v1,~@fractional-v2]

The test bed (github.com/open-feature/flagd-testbed) carries no licence, so none of it ships
here: this script reads a checkout you provide. It starts the bot (SQLite, Slack faked on
127.0.0.1), PUTs the test bed's evaluator flag file (evaluator/flags/testkit-flags.json) as one
flagd document through /api/v1/envs/staging/flags, then plays every Scenario Outline row of
evaluator/gherkin/*.feature through the OpenFeature Python SDK and its OFREP provider, and prints
each failure and the share passed. Rows tagged @fractional-v1 and @fractional-v2 are skipped by
default: they state the pre-ADR hashes, and we follow fractional-v3 (openfeature-flagd-core 2.x).
"""

from __future__ import annotations

import argparse
import json
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
SKIP_TAGS = {"@fractional-v1", "@fractional-v2"}


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


def play(client, steps: list[str], row: dict) -> str | None:
    """None when every Then holds, else what went wrong."""
    def fill(step: str) -> str:
        return re.sub(r"<([^>]+)>", lambda m: row.get(m[1], m[0]), step)

    kind, key, default, targeting_key, attributes, details = "String", "", None, None, {}, None
    for step in map(fill, steps):
        if m := re.match(r'an? (\w+)-flag with key "(.*)" and a fallback value "(.*)"', step):
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
        elif step.startswith(("an evaluator", "a stable flagd provider", "a flagd provider")):
            continue
        else:
            return f"step not understood: {step}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("testbed", type=Path, help="a checkout of github.com/open-feature/flagd-testbed")
    args = parser.parse_args()
    flags = json.loads((args.testbed / "evaluator/flags/testkit-flags.json").read_text())
    with tempfile.TemporaryDirectory(prefix="releasebot-testbed-") as tmp:
        db = Database(f"sqlite:///{tmp}/releasebot.db")
        db.upgrade()
        fake = FakeSlack().start()
        config = Config.model_validate({"flags": {"environments": ["staging"], "default_environment": "staging", "protected": []}})
        bot = start_bot(make_runtime(db, fake, config, SystemClock()))
        try:
            put = httpx.put(f"{bot.url}/api/v1/envs/staging/flags", json=flags, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30)
            print(f"loaded the test bed's flags: HTTP {put.status_code}, {len(put.json().get('warnings', []))} warnings")
            if put.status_code != 200:
                print(json.dumps(put.json(), indent=1)[:3000])
                return 1
            api.set_provider(OFREPProvider(bot.url + "/envs/staging", headers_factory=lambda: {"Authorization": f"Bearer {API_TOKEN}"}))
            client = api.get_client()
            passed, failed, skipped = 0, [], 0
            for feature in sorted((args.testbed / "evaluator/gherkin").glob("*.feature")):
                for name, tags, steps, row in scenarios(feature.read_text()):
                    if tags & SKIP_TAGS:
                        skipped += 1
                        continue
                    problem = play(client, steps, row)
                    if problem is None:
                        passed += 1
                    else:
                        failed.append(f"{feature.name}: {name} {row}: {problem}")
            for line in failed:
                print("FAIL", line)
            total = passed + len(failed)
            print(f"\n{passed} of {total} scenario rows pass ({passed / max(1, total):.1%}); {skipped} skipped (fractional-v1/v2)")
            return 0 if passed / max(1, total) >= 0.95 else 1
        finally:
            bot.stop()
            fake.stop()
            db.dispose()


if __name__ == "__main__":
    sys.exit(main())
