"""`syncbench compare A B`: rule and metric regressions, exit status for release gating."""

from __future__ import annotations

import shutil

import orjson
import pytest
from report_stories import failing_story

from bench.cli import main
from bench.report import trace_metrics
from bench.report.write import dump_json, verdicts_object


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """A run directory as compare reads it: verdicts.json and metrics.json (no plots needed)."""
    out = tmp_path_factory.mktemp("orig")
    tb = failing_story()
    trace = tb.write(out / "trace.jsonl")
    dump_json(out / "verdicts.json", verdicts_object("planado", tb.check(), seed=42, scenario="story"))
    dump_json(out / "metrics.json", trace_metrics(trace))
    return out


def _candidate(original, tmp_path, *, fail_rule=None, scale=None, name="b"):
    b = tmp_path / name
    b.mkdir()
    shutil.copy(original / "verdicts.json", b)
    shutil.copy(original / "metrics.json", b)
    v = orjson.loads((b / "verdicts.json").read_bytes())
    if fail_rule:
        for r in v["rules"]:
            if r["id"] == fail_rule:
                assert r["verdict"] != "fail"
                r["verdict"] = "fail"
                r["violations"] = [{"t": 1, "dev": "d1", "message": "x"}]
    (b / "verdicts.json").write_bytes(orjson.dumps(v))
    if scale:
        m = orjson.loads((b / "metrics.json").read_bytes())
        for k, f in scale.items():
            m["key"][k] = m["key"][k] * f
        (b / "metrics.json").write_bytes(orjson.dumps(m))
    return b


def test_compare_same_run_has_no_regression(original, capsys):
    assert main(["compare", str(original), str(original), "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    assert "0 regression(s)" in out and "upload delay, p95" in out


def test_compare_rule_regression_exits_1_only_when_asked(original, tmp_path, capsys):
    v = orjson.loads((original / "verdicts.json").read_bytes())
    passing = next(r["id"] for r in v["rules"] if r["verdict"] == "pass")
    b = _candidate(original, tmp_path, fail_rule=passing)
    assert main(["compare", str(original), str(b)]) == 0
    assert main(["compare", str(original), str(b), "--fail-on-regression"]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and f"{passing}  pass -> fail" in out
    # The other way round the rule is fixed: not a regression.
    assert main(["compare", str(b), str(original), "--fail-on-regression"]) == 0


def test_compare_metric_regression_beyond_tolerance(original, tmp_path, capsys):
    worse = _candidate(original, tmp_path, scale={"upload_delay_p95_s": 1.4}, name="worse")
    assert main(["compare", str(original), str(worse), "--fail-on-regression", "--json"]) == 1
    cmp = orjson.loads(capsys.readouterr().out)
    m = next(m for m in cmp["metrics"] if m["key"] == "upload_delay_p95_s")
    assert m["regression"] and m["rel"] == pytest.approx(0.4)
    assert cmp["regressions"] == [r for r in cmp["regressions"] if r.startswith("metric upload_delay_p95_s")]
    # +40% is within a 0.5 tolerance; an improvement never regresses.
    assert main(["compare", str(original), str(worse), "--fail-on-regression", "--metric-tolerance", "0.5"]) == 0
    better = _candidate(original, tmp_path, scale={"upload_delay_p95_s": 0.5}, name="better")
    assert main(["compare", str(original), str(better), "--fail-on-regression"]) == 0
    text = capsys.readouterr().out
    assert "+40%" in text or "-50%" in text


def test_compare_bad_input_exits_2(original, tmp_path, capsys):
    assert main(["compare", str(original), str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
    broken = _candidate(original, tmp_path, name="broken")
    (broken / "verdicts.json").write_text('{"rules": [{"id": 1}]}')
    assert main(["compare", str(original), str(broken)]) == 2
    assert "verdicts.json: 'rules' must be a list" in capsys.readouterr().err
    (broken / "verdicts.json").unlink()
    assert main(["compare", str(original), str(broken)]) == 2
    assert "verdicts.json: missing" in capsys.readouterr().err


@pytest.mark.parametrize("a, b, change", [
    ("pass", "fail", "regression"), ("n/a", "fail", "regression"), (None, "fail", "regression"),
    ("fail", "pass", "fixed"), ("fail", "n/a", "fixed"), ("fail", None, "fixed"),
    ("pass", "n/a", "changed"), ("fail", "fail", "same"),
])
def test_rule_change_kinds(a, b, change):
    from bench.report.compare import _rule_change

    assert _rule_change(a, b) == change


def test_metric_noise_floor_and_new_metric(original, tmp_path):
    from bench.report.compare import compare_runs

    m = orjson.loads((original / "metrics.json").read_bytes())
    a = tmp_path / "a"
    b = tmp_path / "b"
    for d, p95, unsent in ((a, 0.1, None), (b, 0.3, 4)):
        d.mkdir()
        shutil.copy(original / "verdicts.json", d)
        m["key"]["upload_delay_p95_s"] = p95  # +200 % but 0.2 s: under the 1 s floor
        m["key"]["unsent_max"] = unsent      # no baseline: shown, never a regression
        (d / "metrics.json").write_bytes(orjson.dumps(m))
    cmp = compare_runs(a, b)
    by_key = {x["key"]: x for x in cmp["metrics"]}
    assert by_key["upload_delay_p95_s"]["rel"] == pytest.approx(2.0) and not by_key["upload_delay_p95_s"]["regression"]
    assert by_key["unsent_max"]["delta"] is None and not cmp["regression"]
