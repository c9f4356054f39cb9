"""The run-level report of ``syncbench run``: index.html, one merged junit.xml, summary.json."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from bench.cli import main
from bench.report.run_index import run_junit, write_run_report
from bench.rules.base import RuleResult, Violation
from bench.rules.expect import ItemResult, unmet

ROOT = Path(__file__).resolve().parents[2]


def _item(name, results, expect=None, extra=None, report=None, problems=()):
    expect = expect or {}
    return ItemResult(name=name, kind="real", policy="planado", results=tuple(results),
                      expect=expect, unmet=unmet(results, expect) + tuple(problems),
                      report_dir=report, seconds=12.5, extra=extra or {})


FAIL_R = RuleResult(id="planado.cadence", verdict="fail", judged=3, failures=1,
                    violations=(Violation(t=140.0, dev="w1", message="idle from 0 ..."),))
PASS_R = RuleResult(id="planado.push_sync", verdict="pass", judged=2)
NA_R = RuleResult(id="planado.unsent_count", verdict="n/a", judged=0, why="no unsent events")


def test_junit_has_a_suite_per_item_and_expected_failures_pass():
    clean = _item("a.yaml", [PASS_R, NA_R])
    caught = _item("mutant.yaml", [FAIL_R, PASS_R], expect={"planado.cadence": "fail"})
    broken = _item("b.yaml", [FAIL_R, PASS_R])
    died = _item("c.yaml", [PASS_R], problems=("run: the server died at t=30",))
    root = ET.fromstring(run_junit([clean, caught, broken, died], run="run-x"))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["a.yaml (real)", "mutant.yaml (real)",
                                               "b.yaml (real)", "c.yaml (real)"]
    assert [s.get("failures") for s in suites] == ["0", "0", "1", "1"]
    assert suites[0].find("testcase[@name='planado.unsent_count']/skipped") is not None
    assert suites[1].find("testcase[@name='planado.cadence']/failure") is None
    assert "idle from 0" in suites[1].find("testcase[@name='planado.cadence']/system-out").text
    assert "1 violation(s)" in suites[2].find("testcase[@name='planado.cadence']/failure").get(
        "message")
    assert suites[3].find("testcase[@name='run']/failure").get("message").startswith("run: ")


def test_the_run_report_files(tmp_path):
    item_dir = tmp_path / "a-real"
    item_dir.mkdir()
    (item_dir / "index.html").write_text("<html></html>")
    items = [_item("a.yaml", [PASS_R, NA_R], report=item_dir,
                   extra={"time_scale": 60.0, "drift": {"n": 4, "worst": 0.06, "mean": 0.02,
                                                        "kept_up": True},
                          "capture": {"agree": True, "flows": 40, "disagreements": []}}),
             _item("b.yaml", [FAIL_R])]
    index = write_run_report(tmp_path, items, wall_s=33.3)
    data = json.loads((tmp_path / "summary.json").read_text())
    assert data["holds"] is False and data["held"] == 1 and data["items"] == 2
    a, b = data["results"]
    assert a["report"] == "a-real/index.html" and a["time_scale"] == 60.0
    assert a["drift"]["worst"] == 0.06 and a["capture"]["agree"] is True
    assert b["failed"] == ["planado.cadence"] and b["unmet"]
    page = index.read_text()
    assert 'id="run-verdict">FAILS<' in page and 'href="a-real/index.html"' in page
    assert "+6% worst of 4" in page and "capture: agrees" in page
    ET.fromstring((tmp_path / "junit.xml").read_bytes())


def test_syncbench_run_writes_the_run_report(tmp_path, capsys):
    traces = sorted((ROOT / "scenarios" / "traces").glob("*.jsonl"))[:3]
    code = main(["run", *map(str, traces), "--out", str(tmp_path)])
    (run_dir,) = [p for p in tmp_path.iterdir() if p.name.startswith("run-")]
    data = json.loads((run_dir / "summary.json").read_text())
    assert data["items"] == len(traces) and (code == 0) == data["holds"]
    for it in data["results"]:
        assert (run_dir / it["report"]).exists()
    suites = ET.fromstring((run_dir / "junit.xml").read_bytes()).findall("testsuite")
    assert len(suites) == len(traces) and all(len(s.findall("testcase")) >= 9 for s in suites)
    assert "run report" in capsys.readouterr().out
