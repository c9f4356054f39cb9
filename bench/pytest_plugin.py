"""pytest plugin: scenarios and traces as tests, one test per rule.

    pytest scenarios/                       # every scenario (*.yaml) and trace (*.jsonl)
    pytest scenarios/ -n auto --dist loadgroup --junitxml=rules.xml
    pytest scenarios/ --syncbench-mode real # scenarios with real clients and links

Theory of operation: a scenario or trace file is a collector whose items are
the rules of its policy (``planado_day.yaml::planado.cadence``), so CI shows
one testcase per rule and a failure shows that rule's violations. The run
behind a file happens once, when its first item runs, and is shared by its
items; every item carries an ``xdist_group`` mark named after its file so that
``--dist loadgroup`` keeps a file's items on one worker while different files
spread over cores. A rule fails when its verdict differs from the file's
expectation (default: pass or n/a); n/a is reported as skipped.

Only files under a folder given on the command line that look like ours are
collected: YAML with a top-level ``policy`` key, JSON Lines whose first line is
a ``syncbench.trace/1`` meta event.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

_MODE_OPT = "--syncbench-mode"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("syncbench")
    group.addoption(_MODE_OPT, choices=("sim", "real"), default="sim",
                    help="how scenario files run: simulated fleet (default) or real clients")
    group.addoption("--syncbench-out", default=None, metavar="DIR",
                    help="write one report per scenario or trace under DIR")


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix == ".jsonl" and _is_trace(file_path):
        return SyncbenchFile.from_parent(parent, path=file_path)
    if file_path.suffix in (".yaml", ".yml") and _is_scenario(file_path):
        return SyncbenchFile.from_parent(parent, path=file_path)
    return None


def _is_trace(path: Path) -> bool:
    from bench.trace import read_meta

    try:
        meta = read_meta(path)
    except OSError:
        return False
    return meta is not None and meta.get("schema") == "syncbench.trace/1"


def _is_scenario(path: Path) -> bool:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and "policy" in data


class SyncbenchFile(pytest.File):
    """One scenario or trace; its items are the rules of its policy."""

    _outcome: Any = None

    def collect(self):
        from bench.rules import get_policy

        policy = self._policy_name()
        for rid in get_policy(policy).rules:
            item = RuleItem.from_parent(self, name=rid, rule_id=rid)
            item.add_marker(pytest.mark.xdist_group(self.path.name))
            yield item

    def _policy_name(self) -> str:
        if self.path.suffix == ".jsonl":
            from bench.trace import read_meta

            meta = read_meta(self.path) or {}
            return meta.get("policy") or "planado"
        import yaml

        return yaml.safe_load(self.path.read_text(encoding="utf-8"))["policy"]

    def outcome(self):
        """Run the file once (cached): an ``ItemResult`` from :mod:`bench.suite`."""
        if self._outcome is None:
            from bench.suite import run_trace_item

            out = self.config.getoption("--syncbench-out")
            out_root = Path(out) if out else None
            if self.path.suffix == ".jsonl":
                self._outcome = run_trace_item(self.path, out_root)
            else:
                from bench.suite.scenarios import run_scenario_item

                mode = self.config.getoption(_MODE_OPT)
                self._outcome = run_scenario_item(self.path, out_root, mode=mode)
        return self._outcome


class RuleItem(pytest.Item):
    def __init__(self, *, rule_id: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.rule_id = rule_id

    def runtest(self) -> None:
        outcome = self.parent.outcome()
        result = next((r for r in outcome.results if r.id == self.rule_id), None)
        if result is None:
            raise RuleFailed(f"{self.rule_id}: the run produced no verdict for this rule")
        want = outcome.expect.get(self.rule_id)
        if want is None:
            if result.verdict == "fail":
                raise RuleFailed(_violations(result))
            if result.verdict == "n/a":
                pytest.skip("n/a: the run holds no instance this rule could judge")
        elif result.verdict != want:
            detail = _violations(result) if result.verdict == "fail" else ""
            raise RuleFailed(f"expected {want}, got {result.verdict}\n{detail}".rstrip())

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, RuleFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}::{self.rule_id}"


class RuleFailed(Exception):
    """A rule's verdict did not meet the file's expectation."""


def _violations(result) -> str:
    from bench.rules.base import fmt_t

    lines = [f"{result.id}: {result.count} violation(s)"]
    lines += [f"  t={fmt_t(v.t)} dev={v.dev or '-'}: {v.message}" for v in result.violations[:20]]
    if result.count > 20:
        lines.append(f"  ... and {result.count - 20} more")
    return "\n".join(lines)
