"""``syncbench check TRACE --merge SERVER_TRACE [--offset S] [--skew S]``."""

from __future__ import annotations

import json

from bench.cli import main
from bench.testing import TraceBuilder

EPOCH = 1_700_000_000.0
K = 60.0


def _run(tmp_path, server_times, *extra):
    tb = TraceBuilder("planado", settled=True, extra_meta={"epoch": EPOCH, "time_scale": K})
    tb.link(0, "d1", "wifi").app(0, "d1", "opened")
    c = tb.edit(60, "d1", "r1", change="d1-c1")
    tb.ack(61, "d1", c)
    run = tb.write(tmp_path / "run.jsonl")
    srv = TraceBuilder(None)
    for t in server_times:  # the server's own log, on its own clock
        srv.srv_apply(t, "d1", "d1-c1", "r1", 1)
    log = srv.write(tmp_path / "server.jsonl")
    return main(["check", str(run), "--merge", str(log), "--json", *extra])


def _verdict(capsys, rule):
    return {r["id"]: r for r in json.loads(capsys.readouterr().out)["rules"]}[rule]


def test_without_the_server_log_exactly_once_is_not_judged(tmp_path, capsys):
    tb = TraceBuilder("planado", settled=True)
    c = tb.edit(60, "d1", "r1")
    tb.ack(61, "d1", c)
    main(["check", str(tb.write(tmp_path / "t.jsonl")), "--json"])
    assert _verdict(capsys, "core.exactly_once")["verdict"] == "n/a"


def test_epoch_timestamps_are_rebased_on_the_run_epoch(tmp_path, capsys):
    # Applied one wall second after t0 = 60 spec seconds at K = 60, before the ack at 61.
    assert _run(tmp_path, [EPOCH + 1.0 + 0.5 / K]) in (0, 1)
    assert _verdict(capsys, "core.exactly_once")["verdict"] == "pass"


def test_millisecond_epochs_too(tmp_path, capsys):
    _run(tmp_path, [(EPOCH + 1.0 + 0.5 / K) * 1000])
    assert _verdict(capsys, "core.exactly_once")["verdict"] == "pass"


def test_a_server_clock_ahead_is_corrected_by_offset(tmp_path, capsys):
    # The server's clock runs 2 wall seconds ahead: its apply lands after the ack...
    _run(tmp_path, [EPOCH + 3.0])
    assert _verdict(capsys, "core.exactly_once")["verdict"] == "fail"
    # ... and --offset (spec seconds) moves it back.
    _run(tmp_path, [EPOCH + 3.0], "--offset", str(-2 * K))
    assert _verdict(capsys, "core.exactly_once")["verdict"] == "pass"


def test_plain_seconds_take_the_offset(tmp_path, capsys):
    _run(tmp_path, [10.0], "--offset", "50")
    assert _verdict(capsys, "core.exactly_once")["verdict"] == "pass"


def test_epochs_without_a_run_epoch_or_bad_flags_are_one_line(tmp_path, capsys):
    tb = TraceBuilder("planado", settled=True)
    tb.link(0, "d1", "wifi")
    run = tb.write(tmp_path / "run.jsonl")
    srv = TraceBuilder(None)
    srv.srv_apply(EPOCH, "d1", "c", "r1", 1)
    log = srv.write(tmp_path / "server.jsonl")
    assert main(["check", str(run), "--merge", str(log)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no epoch" in err
    assert main(["check", str(run), "--merge", str(log), "--skew", "-1"]) == 2
    assert "--skew" in capsys.readouterr().err


def test_skew_widens_the_cross_clock_windows(tmp_path, capsys):
    tb = TraceBuilder("planado", settled=True, extra_meta={"epoch": EPOCH, "time_scale": 1.0})
    tb.link(0, "d1", "wifi").app(0, "d1", "opened")
    run = tb.link(100, "zz", "offline").write(tmp_path / "run.jsonl")
    tb.push(17, "d1", "r1")
    run = tb.write(tmp_path / "run.jsonl")
    srv = TraceBuilder(None)
    srv.dispatch(EPOCH + 5, "create", "r1", "d1").srv_push(EPOCH + 6, "d1", "r1")
    log = srv.write(tmp_path / "server.jsonl")
    main(["check", str(run), "--merge", str(log), "--json"])
    assert _verdict(capsys, "planado.push_delivered")["verdict"] == "fail"  # 11 s > 5 s
    main(["check", str(run), "--merge", str(log), "--json", "--skew", "6"])
    assert _verdict(capsys, "planado.push_delivered")["verdict"] == "pass"
