"""One rule, one test file: tests/rules/test_rules_<rule id>.py for every registered rule.

The three respond() rules of Planado (sync on open, on a status change, on a
push) share one file, test_rules_planado_respond.py, because they are one
mechanism with three triggers; every other rule has its own.
"""

from __future__ import annotations

from pathlib import Path

from bench.rules import REGISTRY

HERE = Path(__file__).parent
SHARED = {"planado.sync_on_open", "planado.sync_on_status", "planado.push_sync"}


def test_every_rule_has_its_test_file():
    missing = []
    for rule in sorted(REGISTRY):
        if rule in SHARED:
            assert rule in (HERE / "test_rules_planado_respond.py").read_text()
            continue
        if not (HERE / f"test_rules_{rule.replace('.', '_')}.py").exists():
            missing.append(rule)
    assert missing == []
