"""``syncbench run`` over recorded traces: expectations hold, and a broken
expectation makes the run fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import main
from bench.suite import unmet_expectations
from bench.testing import TraceBuilder

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "scenarios" / "traces"


def test_example_traces_hold_their_expectations(capsys):
    assert main(["run", str(TRACES), "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "4/4 items hold" in out


@pytest.mark.parametrize("name,rules", [
    ("planado_broken_day.jsonl", {"planado.cadence", "planado.slow_no_files", "planado.unsent_count", "planado.push_sync"}),
    ("playmaker_broken_day.jsonl", {"playmaker.no_auto_download", "playmaker.upload_on_save"}),
])
def test_broken_examples_fail_exactly_their_rules(name, rules, capsys):
    assert main(["check", str(TRACES / name), "--json"]) == 1
    import json

    out = json.loads(capsys.readouterr().out)
    failed = {r["id"] for r in out["rules"] if r["verdict"] == "fail"}
    assert failed == rules


@pytest.mark.parametrize("name", ["planado_clean_day.jsonl", "playmaker_clean_day.jsonl"])
def test_clean_examples_exercise_every_rule(name, capsys):
    import json

    assert main(["check", str(TRACES / name), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["verdict"] for r in out["rules"]} == {"pass"}


def test_unmet_expectation_fails_the_run(tmp_path, capsys):
    tb = TraceBuilder("planado", extra_meta={"expect": {"planado.cadence": "fail"}})
    tb.link(0, "d1", "wifi").app(0, "d1", "opened")
    tb.sync(0.5, "d1", "open", end=1)
    tb.sync(100, "d1", "timer", end=101)
    path = tb.write(tmp_path / "t.jsonl")
    assert main(["run", str(path), "--no-report"]) == 1
    assert "planado.cadence: expected fail, got pass" in capsys.readouterr().out


def test_unexpected_failure_is_reported():
    from bench.rules.base import RuleResult, Violation

    res = [RuleResult(id="a", verdict="fail", judged=1, violations=(Violation(t=1, dev="d", message="m"),)),
           RuleResult(id="b", verdict="pass", judged=1)]
    assert unmet_expectations(res, {}) == ("a: failed unexpectedly",)
    assert unmet_expectations(res, {"a": "fail"}) == ()
    assert unmet_expectations(res, {"b": "n/a", "a": "fail"}) == ("b: expected n/a, got pass",)


def test_bad_paths_and_expectations_are_clear_errors(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope"), "--no-report"]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    bad = TraceBuilder("planado", extra_meta={"expect": {"planado.cadence": "maybe"}})
    bad.link(0, "d1", "wifi")
    path = bad.write(tmp_path / "bad.jsonl")
    assert main(["run", str(path), "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "expect.planado.cadence" in err and "bad.jsonl" in err


def test_sim_mode_runs_a_scenario_and_writes_a_report(tmp_path, capsys, pair):
    path = tmp_path / "tiny.yaml"
    path.write_text(pair)
    assert main(["run", str(path), "--mode", "sim", "--out", str(tmp_path / "out")]) == 0, capsys.readouterr()
    out = capsys.readouterr().out
    assert "1/1 items hold" in out and " sim " in out
    assert list((tmp_path / "out").glob("run-*/tiny-pair-sim/index.html"))


@pytest.mark.slow
def test_both_modes_compare_the_simulator_with_the_real_run(tmp_path, capsys, pair):
    path = tmp_path / "tiny.yaml"
    path.write_text(pair)
    code = main(["run", str(path), "--mode", "both", "--out", str(tmp_path / "out"),
                 "--time-scale", "30"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "2/2 items hold" in out
    assert "sim vs real, tiny.yaml" in out and "syncs per device-hour" in out
    # One day from one seed: the explicit steps, the generated devices' mobility
    # walks and their persons' acts are the same inputs in both modes.
    assert "inputs agree event by event: " in out, out


@pytest.mark.parametrize("argv,needle", [
    (["--mode", "sim", "--target-server", "http://127.0.0.1:9", "--target-token", "x"], "needs --mode real"),
    (["--target-server", "http://127.0.0.1:9"], "go together"),
    (["--time-scale", "0"], "argument --time-scale: must be in (0, 600], got 0"),
    (["--time-scale", "fast"], "argument --time-scale: expected 'auto' or a number, got 'fast'"),
])
def test_run_flag_errors_are_one_line(argv, needle, capsys):
    assert main(["run", str(TRACES), "--no-report", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err
