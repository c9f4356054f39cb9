"""``syncbench capture`` end to end (a reference client behind it, a shaped link, the
verdicts at the end) and ``syncbench import har``; bad input is one line and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path

import pytest

from bench.cli import main
from reference_server.testing import running_server

EPOCH = 1_800_000_000.0


def _har(path: Path, entries: list[dict]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "Charles"},
                                        "entries": entries}}))
    return path


def _sync_entry(t: float, ms: float = 300.0) -> dict:
    from datetime import datetime

    return {"startedDateTime": datetime.fromtimestamp(EPOCH + t, UTC).isoformat(),
            "time": ms,
            "request": {"method": "POST", "url": "https://api.example/v1/sync",
                        "headers": [{"name": "Authorization", "value": "Bearer x"}],
                        "postData": {"mimeType": "application/json",
                                     "text": json.dumps({"device": "phone", "cursor": None,
                                                         "mode": "full", "changes": []})}},
            "response": {"status": 200, "headers": [],
                         "content": {"size": 10, "text": json.dumps(
                             {"acks": [], "records": [], "cursor": "c"})}}}


def test_import_har_writes_a_trace_and_checks_it(tmp_path, capsys):
    har = _har(tmp_path / "s.har", [_sync_entry(t) for t in range(0, 1200, 120)])
    out = tmp_path / "trace.jsonl"
    code = main(["import", "har", str(har), "--link", "3g", "--out", str(out), "--check"])
    assert code == 0
    lines = [json.loads(ln) for ln in out.read_text().splitlines()]
    assert lines[0]["ev"] == "meta" and lines[0]["source"] == "traffic"
    assert sum(e["ev"] == "sync_start" for e in lines) == 10
    captured = capsys.readouterr()
    assert "PASS  planado.cadence" in captured.out
    assert "10 entries, 1 devices" in captured.err
    assert (tmp_path / "trace-report" / "index.html").is_file()


def test_import_har_of_an_overpolling_app_fails(tmp_path, capsys):
    har = _har(tmp_path / "s.har", [_sync_entry(t) for t in range(0, 300, 10)])
    assert main(["import", "har", str(har), "--link", "lte", "-o", str(tmp_path / "t.jsonl"),
                 "--check"]) == 1
    assert "FAIL  planado.no_overpoll" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["--map", "{missing}"], "cannot read"),
    (["--link", "6g"], "unknown link profile '6g'"),
    (["--time-scale", "0"], "--time-scale must be in (0, 600]"),
    (["--check"], "--check needs --out FILE"),
])
def test_import_bad_input_is_one_line(tmp_path, capsys, argv, message):
    har = _har(tmp_path / "s.har", [_sync_entry(0)])
    argv = [a.replace("{missing}", str(tmp_path / "none.yaml")) for a in argv]
    assert main(["import", "har", str(har), *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1 and message in err[-1]


def test_import_a_bad_har_names_the_entry(tmp_path, capsys):
    bad = tmp_path / "bad.har"
    bad.write_text(json.dumps({"log": {"entries": [{"request": {"url": "http://x/"}}]}}))
    assert main(["import", "har", str(bad)]) == 2
    assert "entry 0: request.method is missing" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--map", "nowhere.yaml"], "nowhere.yaml: cannot read"),
    ([], "--upstream URL is needed in reverse mode"),
    (["--upstream", "ftp://x"], "--upstream must be an http:// or https:// URL"),
    (["--upstream", "http://x", "--link", "6g"], "unknown link profile"),
    (["--upstream", "http://x", "--duration", "1e9"], "--duration must be in"),
    (["--upstream", "http://x", "--listen", "nowhere"], "--listen 'nowhere': give HOST:PORT"),
    (["--upstream", "http://x", "--app-log", "none.jsonl"], "--app-log none.jsonl: no such file"),
])
def test_capture_bad_input_is_one_line_before_anything_listens(tmp_path, capsys, argv, message):
    assert main(["capture", "--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.network
@pytest.mark.slow
def test_capture_a_reference_client_on_a_shaped_link(tmp_path):
    """The whole loop: capture on 3G at K = 60 in front of the reference server, a
    reference device pointed at it for some 6 wall seconds (6 spec minutes); at the end
    the trace, both HARs, the links, the verdicts and the report."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with running_server() as srv:
        token = srv.provision("w1", role="worker")
        cap = subprocess.Popen(
            [sys.executable, "-m", "bench", "capture", "--listen", "127.0.0.1:0", "--upstream",
             srv.url, "--link", "3g", "--time-scale", "60", "--duration", "420", "--out",
             str(out), "--confdir", str(tmp_path / "mitm")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        try:
            line = cap.stderr.readline()
            assert line.startswith("capture on http://127.0.0.1:"), line
            url = line.split()[2]
            client = subprocess.Popen(
                [sys.executable, "-m", "bench", "client", "--server", url, "--token", token,
                 "--device", "w1", "--store", str(tmp_path / "store"), "--time-scale", "60",
                 "--link", "3g", "--trace", str(tmp_path / "own.jsonl")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            try:
                # The trace is there while the capture still runs (rewritten every 2 s).
                deadline = time.monotonic() + 30
                while not (out / "trace.jsonl").exists() and time.monotonic() < deadline:
                    time.sleep(0.2)
                live_before_end = (out / "trace.jsonl").exists() and cap.poll() is None
                stdout, stderr = cap.communicate(timeout=60)
            finally:
                client.terminate()
                client.wait(10)
        finally:
            if cap.poll() is None:
                cap.kill()
                cap.wait()
    assert cap.returncode == 0, stderr
    assert live_before_end
    for name in ("flows.jsonl", "links.jsonl", "trace.jsonl", "capture.har", "mitmproxy.har"):
        assert (out / name).stat().st_size > 0, name
    assert "PASS  planado.cadence" in stdout and "planado.unsent_count" in stdout
    assert "without an app log" in stdout
    assert list((out / "report").rglob("index.html"))
    links = [json.loads(ln) for ln in (out / "links.jsonl").read_text().splitlines()]
    assert links[0]["class"] == "3g"
    starts = [json.loads(ln) for ln in (out / "trace.jsonl").read_text().splitlines()
              if '"sync_start"' in ln]
    assert len(starts) >= 3  # open, then a timer sync every 2 spec minutes


def test_import_with_an_app_log_judges_what_only_the_app_knows(tmp_path, capsys):
    har = _har(tmp_path / "s.har", [_sync_entry(t) for t in range(0, 600, 120)])
    log = tmp_path / "app.csv"
    log.write_text(f"t,dev,ev,n\n{EPOCH - 5},phone,opened,\n{EPOCH + 1},phone,unsent,0\n")
    out = tmp_path / "t.jsonl"
    assert main(["import", "har", str(har), "--link", "3g", "--epoch", str(EPOCH - 10),
                 "--app-log", str(log), "-o", str(out), "--check"]) == 1
    text = capsys.readouterr().out
    assert "PASS  planado.unsent_count" in text and "PASS  planado.sync_on_open" in text
    # The log never shows a last-sync time, yet syncs succeeded: the screen lied.
    assert "FAIL  planado.last_sync_time" in text
    meta = json.loads(out.read_text().splitlines()[0])
    assert meta["capture"]["app_log"] is True and meta["capture"]["assumed"] == []


@pytest.mark.network
def test_capture_in_regular_mode_shapes_each_host_it_meets(tmp_path):
    """The phone's proxy setting: the capture makes a link proxy for the server on first
    use and shapes it (GPRS here: a sync takes its round trip), then records the flow."""
    import httpx

    out = tmp_path / "run"
    with running_server() as srv:
        token = srv.provision("w1", role="worker")
        cap = subprocess.Popen(
            [sys.executable, "-m", "bench", "capture", "--mode", "regular", "--listen",
             "127.0.0.1:0", "--link", "gprs", "--out", str(out), "--confdir",
             str(tmp_path / "mitm"), "--no-check"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = cap.stderr.readline()
            assert line.startswith("capture on http://127.0.0.1:"), line
            proxy = line.split()[2]
            with httpx.Client(proxy=proxy, timeout=30) as c:
                t = time.perf_counter()
                r = c.post(f"{srv.url}/v1/sync", headers={"Authorization": f"Bearer {token}"},
                           json={"device": "w1", "cursor": None, "mode": "full", "changes": []})
                took = time.perf_counter() - t
        finally:
            cap.terminate()
            cap.communicate(timeout=60)
    assert r.status_code == 200
    from bench.link.profiles import get_profile

    gprs = get_profile("gprs")
    rtt = (gprs.shape("up").latency_ms + gprs.shape("down").latency_ms) / 1000
    assert took >= rtt * 0.9, (took, rtt)
    trace = [json.loads(ln) for ln in (out / "trace.jsonl").read_text().splitlines()]
    assert [e["ev"] for e in trace if e.get("dev") == "w1"][-2:] == ["sync_start", "sync_end"]
    assert any(e["ev"] == "link" and e["class"] == "gprs" for e in trace)
