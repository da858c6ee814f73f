"""manifest.yml against Slack's schema and the registered listeners; the Dockerfile; the README and CI."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import jsonschema
import yaml

from bot.slack.listeners import commands
from bot.slack.scopes import BOT_SCOPES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / "tests" / "schemas" / "manifest.schema.1.0.0.json"


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_the_manifest_is_valid_against_slacks_published_schema():
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest()), key=lambda e: list(e.path))
    assert [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors] == []


def test_every_registered_command_is_in_the_manifest_and_back():
    declared = {command["command"] for command in manifest()["features"]["slash_commands"]}
    registered = {module.COMMAND for module in commands.REGISTERED}
    assert declared == registered == {"/rc", "/flag", "/freeze"}


def test_the_manifest_asks_only_for_the_scopes_the_bot_uses():
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert scopes == BOT_SCOPES
    assert manifest()["settings"]["interactivity"]["is_enabled"] is True
    assert manifest()["features"]["bot_user"]["display_name"] == "releasebot"


def test_the_dockerfile_copies_what_exists_and_runs_the_installed_entry_point():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-9]-slim", text, re.M)
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"
    user = re.findall(r"^USER (\S+)$", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/healthz", text, re.M)
    assert 'CMD ["releasebot", "serve"]' in text
    assert "PORT" in text
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["releasebot"] == "bot.cli:main"


def test_the_readme_opens_with_the_demo_and_the_tests_then_connecting_slack_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.+?)\n```", readme, re.S)
    install_and_run, install_and_test = blocks[0], blocks[1]
    assert "releasebot demo" in install_and_run and "pip install -e ." in install_and_run
    assert "pytest" in install_and_test
    assert readme.index(install_and_test) < readme.index("## ")
    assert install_and_test in (ROOT / ".ci" / "run").read_text()
    # connecting a real workspace comes right after, and says how to start the bot for it
    first_section = readme[readme.index("## "):].split("\n## ")[0]
    assert first_section.startswith("## Setting it up in Slack") and "releasebot serve" in first_section


def test_every_dependency_has_a_lower_bound():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert ">=" in requirement, requirement


def test_the_repository_is_complete_on_its_own():
    """A user's clone has nothing beside it: no tracked file may reach outside the repository."""
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = [
        path for path in tracked
        if path.endswith((".py", ".md", ".yml", ".toml", ".sh")) or path.startswith(".ci/")
        if "../" + "shared" in (ROOT / path).read_text(errors="replace")
    ]
    assert outside == []
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
    assert (ROOT / "tests" / "schemas" / "LICENSE.manifest-schema").exists()
