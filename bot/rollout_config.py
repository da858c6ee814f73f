"""Checks of the rollout templates that one field cannot make alone (a segment or role named
elsewhere in `flags`, a percentage smaller than the stage before), made on the raw file so each
problem keeps its line. The models are in bot/config.py."""

from __future__ import annotations

from typing import Any


def cross_problems(flags: Any) -> list[tuple[list, str]]:
    """(location, message) of each reference the models cannot check: unknown segments and roles,
    percentages that shrink. Reads the raw `flags` mapping; malformed parts are left to the models."""
    if not isinstance(flags, dict):
        return []
    segments = flags.get("segments") if isinstance(flags.get("segments"), dict) else {}
    approvers = flags.get("approvers") if isinstance(flags.get("approvers"), dict) else {}
    templates = flags.get("rollout_templates") if isinstance(flags.get("rollout_templates"), dict) else {}
    found: list[tuple[list, str]] = []
    for name, template in templates.items():
        where = ["flags", "rollout_templates", name]
        if not isinstance(template, dict):
            continue
        if template.get("checks") and not flags.get("prometheus_url"):
            found.append(([*where, "checks"], "checks need flags.prometheus_url (the Prometheus HTTP API they query)"))
        for index, role in enumerate(template.get("approvals") or [] if isinstance(template.get("approvals"), list) else []):
            if role not in approvers:
                known = ", ".join(map(str, approvers)) or "none (flags.approvers is empty)"
                found.append(([*where, "approvals", index], f"unknown role {role!r}; roles in flags.approvers: {known}"))
        previous = 0
        for index, stage in enumerate(template.get("stages") if isinstance(template.get("stages"), list) else []):
            if not isinstance(stage, dict):
                continue
            for position, segment in enumerate(stage.get("segments") if isinstance(stage.get("segments"), list) else []):
                if segment not in segments:
                    known = ", ".join(map(str, segments)) or "none (flags.segments is empty)"
                    found.append(([*where, "stages", index, "segments", position], f"unknown segment {segment!r}; segments: {known}"))
            percent = stage.get("percent", 0)
            if isinstance(percent, int) and not isinstance(percent, bool):
                if percent < previous:
                    found.append(([*where, "stages", index, "percent"], f"{percent}% is less than the stage before ({previous}%); a rollout only grows"))
                previous = max(previous, percent)
    return found
