"""Rollout templates in the flags section: typed, and every wrong reference reported with its line."""

from __future__ import annotations

import datetime as dt

from bot.config import load_config
from tests.test_config import problems_of, write

TEMPLATES = """\
flags:
  segments:
    internal: {ends_with: [{var: email}, "@example.com"]}
    beta: {in: ["beta", {var: groups}]}
  approvers:
    technical: [U0LEAD]
    operations: [U0OPS]
    product: [U0PM]
  prometheus_url: http://127.0.0.1:9090/
  rollout_templates:
    standard:
      approvals: [technical, operations, product]
      advance: manual
      checks:
        - {name: error rate, query: 'sum(rate(errors{flag="{flag}"}[5m]))', max: 0.02, on_fail: rollback}
      stages:
        - {name: internal, segments: [internal], percent: 0, bake: 1d}
        - {name: beta, segments: [beta], percent: 5, bake: 2d}
        - {name: gradual, percent: 25, bake: 3d}
        - {name: full, percent: 100}
"""


def test_the_product_example_loads(tmp_path):
    flags = load_config(write(tmp_path, TEMPLATES)).flags
    standard = flags.rollout_templates["standard"]
    assert flags.prometheus_url == "http://127.0.0.1:9090"
    assert flags.approvers["operations"] == ["U0OPS"]
    assert standard.stages[1].bake == dt.timedelta(days=2)
    assert standard.stages[3].bake is None
    assert standard.checks[0].on_fail == "rollback" and standard.checks[0].max == 0.02


def test_unknown_segments_roles_shrinking_percentages_and_bad_durations_each_have_their_line(tmp_path):
    text = (
        TEMPLATES.replace("approvals: [technical, operations, product]", "approvals: [technical, legal]")
        .replace("segments: [beta]", "segments: [betas]")
        .replace("percent: 25, bake: 3d", "percent: 3, bake: 3 days")
        .replace("on_fail: rollback", "on_fail: panic")
    )
    found = problems_of(tmp_path, text)
    assert any(":12: flags.rollout_templates.standard.approvals[1]: unknown role 'legal'" in p for p in found), found
    assert any(":18: flags.rollout_templates.standard.stages[1].segments[0]: unknown segment 'betas'" in p for p in found), found
    assert any(":19: flags.rollout_templates.standard.stages[2].percent: 3% is less than the stage before (5%)" in p for p in found), found
    assert any(":19: flags.rollout_templates.standard.stages[2].bake: '3 days' is not a duration" in p for p in found), found
    assert any(":15: flags.rollout_templates.standard.checks[0].on_fail" in p for p in found), found


def test_a_check_needs_one_bound_and_a_percentage_stays_within_100(tmp_path):
    text = TEMPLATES.replace(", max: 0.02", "").replace("percent: 100}", "percent: 150}")
    found = problems_of(tmp_path, text)
    assert any("checks[0]: check 'error rate' needs exactly one of max: or min:" in p for p in found), found
    assert any(":20: flags.rollout_templates.standard.stages[3].percent: Input should be less than or equal to 100" in p for p in found), found


def test_checks_need_a_prometheus_url(tmp_path):
    found = problems_of(tmp_path, TEMPLATES.replace("  prometheus_url: http://127.0.0.1:9090/\n", ""))
    assert any(":13: flags.rollout_templates.standard.checks: checks need flags.prometheus_url" in p for p in found), found
