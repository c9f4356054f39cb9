"""syncbench simulate: verdict table, report directory, exit status."""

import json

from bench.cli import main

SMALL = ["--devices", "3", "--hours", "0.5", "--quiet", "--no-plots"]


def test_simulate_writes_a_report_and_exits_0(tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(["simulate", "scenarios/planado-day.yaml", "--devices", "3", "--hours", "0.5",
                 "--quiet", "--seed", "5", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "planado-day (seed 5): policy planado, 20 rules: 0 fail" in text
    for name in ("trace.jsonl", "junit.xml", "metrics.json", "verdicts.json"):
        assert (out / name).is_file(), name
    first = json.loads((out / "trace.jsonl").read_text().split("\n", 1)[0])
    assert first["seed"] == 5 and first["settled"] is True


def test_no_plots_writes_the_parts_itself(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["simulate", "scenarios/planado-day.yaml", *SMALL, "--out", str(out)]) == 0
    verdicts = json.loads((out / "verdicts.json").read_text())
    assert verdicts["policy"] == "planado" and len(verdicts["rules"]) == 20
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sim"]["devices"] == 3 and "server_rps" in metrics["series"]
    assert b"<testsuite" in (out / "junit.xml").read_bytes()


def test_separate_trace_file(tmp_path, capsys):
    trace = tmp_path / "t.jsonl"
    assert main(["simulate", "scenarios/playmaker-day.yaml", *SMALL, "--trace", str(trace),
                 "--out", str(tmp_path / "r")]) == 0
    assert trace.stat().st_size > 0


def test_unmet_expect_exits_1(tmp_path, capsys):
    text = open("scenarios/planado-day.yaml").read() + "expect:\n  planado.cadence: fail\n"
    sc = tmp_path / "x.yaml"
    sc.write_text(text)
    assert main(["simulate", str(sc), *SMALL, "--out", str(tmp_path / "r")]) == 1
    assert "planado.cadence: expected fail, got pass" in capsys.readouterr().out


def test_expected_failure_is_met_and_exits_0(tmp_path, capsys):
    assert main(["simulate", "scenarios/planado-push-off.yaml", *SMALL,
                 "--out", str(tmp_path / "r")]) == 0
    assert "expect: met" in capsys.readouterr().out


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    sc = tmp_path / "x.yaml"
    sc.write_text("name: x\npolicy: planado\nfleet: {size: 2, link: lte5}\n")
    assert main(["simulate", str(sc), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("syncbench simulate: error: ") and "fleet.link: unknown profile 'lte5'" in err
    assert main(["simulate", "scenarios/planado-day.yaml", "--devices", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("syncbench simulate: error: argument --devices: must be positive, got 0 "
                   "(see syncbench simulate --help)")


def test_progress_gives_device_hours_rate_and_eta_and_is_quiet_in_ci():
    import io

    from bench.cli.cmd_simulate import _progress, progress_line

    assert progress_line("day", 100, 3600.0, 4 * 3600.0, 2.0) == \
        "simulating day:  25% 100 of 400 device-hours, 50 device-h/s, ETA 6 s"
    assert progress_line("day", 100, 7200.0, 7200.0, 4.0).endswith("200 device-hours, 50 device-h/s")
    out, t = io.StringIO(), [0.0]
    show = _progress("day", 10, out=out, clock=lambda: t[0], env={})
    for i in range(1, 11):
        t[0] = i * 0.5
        show(i * 360.0, 3600.0, 100 * i)
    lines = out.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("simulating day: 100% 10 of 10 device-hours")
    assert "ETA" in lines[0] and "ETA" not in lines[-1]
    assert _progress("day", 10, out=io.StringIO(), env={"CI": "true"}) is None


def test_shards_write_one_merged_report(tmp_path, capsys):
    out = tmp_path / "rep"
    assert main(["simulate", "scenarios/planado-day.yaml", "--devices", "8", "--hours", "0.5",
                 "--quiet", "--no-plots", "--shards", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "8 devices x 0.5 h" in text and "2 shards: devices [4, 4]" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sim"]["shards"] == 2 and len(metrics["sim"]["shard_peak_mb"]) == 2
    assert json.loads((out / "trace.jsonl").read_text().split("\n", 1)[0])["shards"] == 2
    assert not list(out.glob("*.part*"))


def test_shards_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main(["simulate", "scenarios/planado-day.yaml", *SMALL, "--shards", "9"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("syncbench simulate: error: scenarios/planado-day.yaml: --shards: 9 shards")
    assert "\n" not in err
    assert main(["simulate", "scenarios/planado-day.yaml", *SMALL, "--dask", "tcp://127.0.0.1:1"]) == 2
    assert "--dask needs --shards N" in capsys.readouterr().err
    assert main(["simulate", "scenarios/planado-day.yaml", *SMALL, "--shard-memory-mb", "100"]) == 2
    assert "--shard-memory-mb needs --shards N" in capsys.readouterr().err
