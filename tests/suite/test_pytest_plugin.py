"""The pytest plugin: one test per rule, failures show violations, JUnit per rule."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.testing import TraceBuilder

ROOT = Path(__file__).resolve().parents[2]


def _pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300)


def test_example_traces_collect_one_test_per_rule(tmp_path):
    junit = tmp_path / "rules.xml"
    proc = _pytest(str(ROOT / "scenarios" / "traces"), f"--junitxml={junit}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    cases = ET.parse(junit).getroot().iter("testcase")
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(names) == 20 + 20 + 9 + 9
    assert any(n == "planado.cadence" for _, n in names)


@pytest.mark.slow
def test_a_failing_rule_fails_its_test_with_the_violations(tmp_path):
    tb = TraceBuilder("planado")
    tb.link(0, "d1", "wifi").app(0, "d1", "opened")
    tb.sync(0.5, "d1", "open", end=1)
    tb.last_sync(1, "d1", 1)
    tb.sync(200, "d1", "timer", end=201)  # idle 199 s > 130 s
    tb.last_sync(201, "d1", 201)
    tb.write(tmp_path / "day.jsonl")
    junit = tmp_path / "rules.xml"
    proc = _pytest(str(tmp_path), f"--junitxml={junit}", "-n", "2", "--dist", "loadgroup", cwd=tmp_path)
    assert proc.returncode == 1
    assert "planado.cadence" in proc.stdout and "idle from 1" in proc.stdout
    root = ET.parse(junit).getroot()
    failed = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    skipped = [c.get("name") for c in root.iter("testcase") if c.find("skipped") is not None]
    assert failed == ["planado.cadence"]
    assert "planado.push_sent" in skipped  # n/a: no dispatch in this trace


def test_files_that_are_not_ours_are_not_collected(tmp_path):
    (tmp_path / "other.jsonl").write_text('{"a": 1}\n')
    (tmp_path / "other.yaml").write_text("just: data\n")
    proc = _pytest(str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 5, proc.stdout  # no tests collected
