"""Docs are tests: generated docs and example traces must match their sources."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_rules_doc_is_current():
    from bench.rules.docs import render

    assert (ROOT / "docs" / "rules.md").read_text() == render(), (
        "docs/rules.md is stale: run `python -m bench.rules.docs > docs/rules.md`"
    )


def test_example_traces_are_current():
    sys.path.insert(0, str(ROOT / "scenarios" / "traces"))
    try:
        import examples
    finally:
        sys.path.pop(0)
    for name, data in examples.build_all().items():
        assert (ROOT / "scenarios" / "traces" / name).read_bytes() == data, (
            f"scenarios/traces/{name} is stale: run `python scenarios/traces/examples.py`"
        )


def test_every_registered_rule_is_documented():
    from bench.rules import REGISTRY

    text = (ROOT / "docs" / "rules.md").read_text()
    for rid in REGISTRY:
        assert f"### {rid}" in text


def test_traffic_table_in_checking_md_is_current():
    from bench.rules.base import REGISTRY
    from bench.rules.observable import BEGIN, END, OBSERVABLE, traffic_table

    assert set(OBSERVABLE) == set(REGISTRY), "every rule needs its place in the traffic table"
    text = (ROOT / "docs" / "checking.md").read_text()
    table = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
    assert table == traffic_table(), (
        "docs/checking.md's traffic table is stale: run `python -m bench.rules.observable`")
