"""Scripted mode and the command line: actions, stdin, bad input, signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from realclient_helpers import WAIT_S, config, run, server_view, web

from bench.cli import main as syncbench
from bench.trace import TraceReader
from reference_client.client import load_script, parse_action, parse_line, run_device
from reference_server.testing import running_server


@pytest.mark.parametrize(("obj", "message"), [
    ([], "must be a JSON object"),
    ({"do": "fly"}, "'do' must be one of"),
    ({"do": "link", "class": "6g"}, "'class' must be one of"),
    ({"do": "link", "class": "wifi", "speed": 1}, "unknown field 'speed'"),
    ({"do": "app", "state": "paused"}, "'state' must be one of"),
    ({"do": "edit", "record": "j", "kind": "text"}, "needs 'fields'"),
    ({"do": "edit", "record": "j", "kind": "photo", "bytes": 0}, "positive integer"),
    # "a 3 GB photo is written although the server refuses files over 512 MiB"
    ({"do": "edit", "record": "j", "kind": "photo", "bytes": 3 * 10**9},
     "3,000,000,000 bytes is over the protocol's file limit of 536,870,912"),
    ({"do": "edit", "record": "j", "kind": "status", "status": "x", "bytes": 3},
     "takes 'status', not 'bytes'"),
    ({"do": "edit", "record": "", "kind": "text", "fields": {"a": 1}}, "'record'"),
    ({"do": "manual", "at": -1}, "'at' must be a non-negative number"),
    ({"do": "settle", "timeout": 0}, "'timeout' must be a positive number"),
])
def test_bad_actions_are_refused_with_their_place(obj, message):
    with pytest.raises(ValueError, match=message) as err:
        parse_action(obj, "day.jsonl:4")
    assert str(err.value).startswith("day.jsonl:4: ")


def test_good_actions_parse_and_app_shorthand_expands():
    assert parse_action({"do": "opened", "at": 3}).args == {"state": "opened"}
    assert parse_action({"do": "opened"}).do == "app"
    a = parse_action({"at": 1.5, "do": "edit", "record": "j", "kind": "photo", "bytes": 9})
    assert (a.at, a.args["bytes"]) == (1.5, 9)
    assert parse_line("   \n", "x") is None
    with pytest.raises(ValueError, match="x: not JSON"):
        parse_line("{nope", "x")


def test_script_file_errors_name_file_and_line(tmp_path):
    path = tmp_path / "day.jsonl"
    path.write_text('{"do": "link", "class": "wifi"}\n\n{"do": "edit"}\n')
    with pytest.raises(ValueError, match=r"day.jsonl:3: 'record'"):
        load_script(path)


def _args(srv, tmp_path, *extra):
    token = srv.tokens.get("w1") or srv.provision("w1")
    return ["client", "--server", srv.url, f"--token={token}", "--device", "w1",
            "--store", str(tmp_path / "store"), "--trace", str(tmp_path / "w1.jsonl"), *extra]


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    with running_server() as srv:
        bad_script = tmp_path / "bad.jsonl"
        bad_script.write_text('{"do": "link", "class": "warp"}\n')
        cases = [(["--time-scale", "0"], "ClientConfig.time_scale"),
                 (["--mutant", "nope"], "unknown mutant 'nope'"),
                 (["--script", str(bad_script)], "bad.jsonl:1: 'class'"),
                 (["--script", str(tmp_path / "missing.jsonl")], "cannot read")]
        for extra, message in cases:
            assert syncbench(_args(srv, tmp_path, *extra)) == 2
            err = capsys.readouterr().err
            assert message in err and err.count("\n") == 1, err
        assert not (tmp_path / "w1.jsonl").exists()  # nothing started
        (tmp_path / "plain").write_text("a file, not a directory")
        args = _args(srv, tmp_path)
        args[args.index("--trace") + 1] = str(tmp_path / "plain" / "w1.jsonl")
        assert syncbench(args) == 2
        err = capsys.readouterr().err
        assert "cannot open" in err and err.count("\n") == 1, err


def test_run_device_plays_a_script_until_stop(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")
        script = [parse_action(a) for a in [
            {"at": 0, "do": "link", "class": "wifi"},
            {"at": 0, "do": "opened"},
            {"at": 30, "do": "edit", "record": "job-1", "kind": "status", "status": "started"},
            {"do": "settle", "timeout": WAIT_S},
            {"do": "snapshot"},
            {"do": "stop"},
            {"do": "manual"},  # after stop: never played
        ]]
        dev = run(run_device(cfg, script))
        events = list(TraceReader(cfg.trace))
        assert not [e for e in events if e["ev"] == "manual"]
        edit = [e for e in events if e["ev"] == "edit"][0]
        assert edit["t"] >= 30.0
        snaps = [e for e in events if e["ev"] == "snapshot"]
        assert len(snaps) == 1 and snaps[0]["records"] == server_view(srv, "w1") == {"job-1": 2}
        apps = [e for e in events if e["ev"] == "app"]
        assert apps[-1]["state"] == "closed"  # the run ended: the app is closed
        assert apps[-1]["t"] >= snaps[0]["t"]
        assert dev.errors == []


def test_stdin_script_and_sigterm_shut_down_cleanly(tmp_path):
    with running_server() as srv:
        args = _args(srv, tmp_path, "--script", "-", "--time-scale", "300")
        proc = subprocess.Popen([sys.executable, "-m", "bench", *args], stdin=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            for action in ({"do": "link", "class": "wifi"}, {"do": "opened"},
                           {"do": "edit", "record": "r1", "kind": "text", "fields": {"a": 1}}):
                proc.stdin.write(json.dumps(action).encode() + b"\n")
            proc.stdin.flush()  # stdin stays open: the runner may send more later
            trace = tmp_path / "w1.jsonl"
            deadline = time.monotonic() + WAIT_S
            while not (trace.exists() and '"ev":"ack"' in trace.read_text()):
                # Once seen on a loaded machine: the client exited 2 before its first ack;
                # say why (its stderr) so the next occurrence can be diagnosed.
                assert proc.poll() is None, f"client exited {proc.returncode}: {proc.stderr.read()!r}"
                assert time.monotonic() < deadline, "no ack within WAIT_S"
                time.sleep(0.02)
            assert server_view(srv, "w1") == {"r1": 1}
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(WAIT_S) == 0, proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdin.close()
            proc.stderr.close()
        events = list(TraceReader(tmp_path / "w1.jsonl"))
        started = {e["sync"] for e in events if e["ev"] == "sync_start"}
        ended = {e["sync"] for e in events if e["ev"] == "sync_end"}
        assert started == ended  # a sync cut by the shutdown is ended in the trace
        last_app = max(i for i, e in enumerate(events) if e["ev"] == "app")
        assert events[last_app]["state"] == "closed"  # the process ended: the app closed
        # after it only what the close ended (a sync in flight, transfers)
        assert {e["ev"] for e in events[last_app + 1:]} <= {"sync_end", "file_end", "unsent",
                                                            "last_sync"}
        assert [e["change"] for e in events if e["ev"] == "ack"] == ["w1-c1"]


def test_sigterm_while_writing_a_large_photo_stops_at_once_and_cleans_up(tmp_path):
    """"ignores SIGTERM while writing it": the writer stops within one chunk and
    removes its temporary file; the edit was never saved, so nothing is unsent."""
    photos = tmp_path / "store" / "photos"
    with running_server() as srv:
        proc = subprocess.Popen([sys.executable, "-m", "bench", *_args(srv, tmp_path, "--script", "-")],
                                stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for action in ({"do": "link", "class": "offline"},
                           {"do": "edit", "record": "r1", "kind": "photo", "bytes": 512 * 2**20}):
                proc.stdin.write(json.dumps(action).encode() + b"\n")
            proc.stdin.flush()
            deadline = time.monotonic() + WAIT_S
            while not any(p.stat().st_size > 0 for p in photos.glob("tmp-*")):
                assert proc.poll() is None, f"client exited {proc.returncode}: {proc.stderr.read()!r}"
                assert time.monotonic() < deadline, "the photo was never started"
                time.sleep(0.005)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(WAIT_S) == 0, proc.stderr.read()
            stopped_in = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdin.close()
            proc.stderr.close()
    assert list(photos.glob("*")) == []
    # Writing all 512 MiB takes seconds here; stopping takes one 1 MiB chunk
    # plus the shutdown (generous for a loaded 2-core machine).
    assert stopped_in < 5.0
    events = list(TraceReader(tmp_path / "w1.jsonl"))
    assert not [e for e in events if e["ev"] == "edit"]
