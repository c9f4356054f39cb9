"""`syncbench report DIR` rebuilds the same report; `syncbench compare` gates releases."""

from __future__ import annotations

import re
import shutil

import orjson
import pytest
from report_stories import failing_story

from bench.cli import main

FILES = ("verdicts.json", "junit.xml", "metrics.json", "run.json", "index.html")


@pytest.fixture
def original(story_report):
    return story_report[0]


def test_report_rebuild_equals_the_original(original, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    for name in FILES:
        if name != "run.json":  # the run's own record, which a rebuild reads
            (copy / name).unlink()
    shutil.rmtree(copy / "plots")
    assert main(["report", str(copy)]) == 1  # the story fails a rule, like `check`
    assert "index.html: 20 rules: 4 fail" in capsys.readouterr().out
    for name in FILES:
        assert (copy / name).read_bytes() == (original / name).read_bytes(), name
    orig_plots = sorted(p.name for p in (original / "plots").glob("*.png"))
    assert sorted(p.name for p in (copy / "plots").glob("*.png")) == orig_plots
    assert "series_server_rps.png" in orig_plots  # series kept from run.json
    for name in orig_plots:
        assert (copy / "plots" / name).read_bytes() == (original / "plots" / name).read_bytes(), name


def test_report_with_another_policy(tmp_path, monkeypatch):
    import bench.report.write

    monkeypatch.setattr(bench.report.write, "write_plots", lambda *a, **k: [])  # plots are tested elsewhere
    d = tmp_path / "bare"
    failing_story().write(tmp_path / "t.jsonl")
    d.mkdir()
    shutil.copy(tmp_path / "t.jsonl", d / "trace.jsonl")  # a directory with only a trace
    main(["report", str(d), "--policy", "playmaker"])
    v = orjson.loads((d / "verdicts.json").read_bytes())
    assert v["policy"] == "playmaker" and any(r["id"].startswith("playmaker.") for r in v["rules"])
    assert v["seed"] == 42  # from the trace meta


@pytest.mark.parametrize("setup, message", [
    ("missing", "not a directory"),
    ("empty", "no trace.jsonl in it"),
    ("malformed", r"trace.jsonl:3: not JSON"),
    ("badrun", "run.json: not readable JSON"),
    ("badpolicy", "unknown policy"),
])
def test_report_bad_input_is_one_line_exit_2(tmp_path, capsys, setup, message):
    d = tmp_path / "d"
    args = ["report", str(d)]
    if setup != "missing":
        d.mkdir()
    if setup in ("malformed", "badrun", "badpolicy"):
        failing_story().write(d / "trace.jsonl")
    if setup == "malformed":
        lines = (d / "trace.jsonl").read_bytes().splitlines(keepends=True)
        (d / "trace.jsonl").write_bytes(b"".join(lines[:2]) + b"{oops\n" + b"".join(lines[2:]))
    if setup == "badrun":
        (d / "run.json").write_text("{")
    if setup == "badpolicy":
        args += ["--policy", "nosuch"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("syncbench report: error:")
    assert re.search(message, err), err


def test_report_with_a_policy_file(tmp_path, monkeypatch):
    import bench.report.write

    monkeypatch.setattr(bench.report.write, "write_plots", lambda *a, **k: [])  # plots are tested elsewhere
    d = tmp_path / "d"
    d.mkdir()
    failing_story().write(d / "trace.jsonl")
    pol = tmp_path / "lenient.yaml"
    pol.write_text("name: lenient\nextends: planado\nexclude: [planado.offline_no_push, planado.cadence, "
                   "planado.last_sync_time, planado.unsent_count]\n")
    assert main(["report", str(d), "--policy-file", str(pol)]) == 0
    v = orjson.loads((d / "verdicts.json").read_bytes())
    assert v["policy"] == "lenient" and v["verdict"] == "pass"


def test_a_checked_trace_is_named_by_its_file_and_keeps_it_on_rebuild(tmp_path, monkeypatch):
    import bench.report.write
    from bench.report import write_report

    monkeypatch.setattr(bench.report.write, "write_plots", lambda *a, **k: [])  # plots are tested elsewhere
    tb = failing_story()
    src = tb.write(tmp_path / "broken_day.jsonl")
    out = tmp_path / "r"
    write_report(out, trace_path=src, policy="planado", results=tb.check())
    assert "<dt>trace</dt><dd>broken_day.jsonl</dd>" in (out / "index.html").read_text()
    first = (out / "index.html").read_bytes()
    main(["report", str(out)])
    assert (out / "index.html").read_bytes() == first
