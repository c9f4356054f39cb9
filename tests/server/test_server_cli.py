"""``syncbench serve`` and ``python -m reference_server`` from the outside."""

from __future__ import annotations

import subprocess
import sys

import httpx
import orjson
import pytest

from bench.cli import main


def test_serve_demo_prints_tokens_and_ready_line(tmp_path):
    trace = tmp_path / "t.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "serve", "--db", ":memory:", "--port", "0", "--demo",
         "--trace", str(trace), "--time-scale", "60"], stdout=subprocess.PIPE, text=True)
    try:
        tokens = {}
        for line in proc.stdout:
            if line.startswith("{"):
                ready = orjson.loads(line)
                break
            name, _, tok = line.strip().rpartition(": ")
            tokens[name] = tok
        assert ready["ready"] is True
        assert set(tokens) == {"admin token", "token dispatcher", "token w1", "token w2",
                               "token w3"}
        r = httpx.post(ready["url"] + "/v1/sync", json={"device": "w1", "cursor": None,
                                                       "mode": "download"},
                       headers={"Authorization": f"Bearer {tokens['token w1']}"})
        assert [x["id"] for x in r.json()["records"]] == ["job-1", "job-2"]
        ops = [orjson.loads(x) for x in trace.read_text().splitlines()]
        assert [e["op"] for e in ops if e["ev"] == "dispatch"] == ["create"] * 7
        assert sum(e["ev"] == "srv_push" for e in ops) == 6  # one per assigned job
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.parametrize("argv,needle", [
    (["serve", "--time-scale", "0"], "time-scale"),
    (["serve", "--time-scale", "inf"], "time-scale"),
    (["serve", "--trace-epoch", "nan"], "--trace-epoch"),
    (["serve", "--trace-epoch=-inf"], "--trace-epoch"),
    (["serve", "--port", "70000"], "--port"),
    (["serve", "--db", ":memory:", "--port", "0", "--trace", "/nonexistent/dir/t.jsonl"],
     "trace"),
    (["serve", "--db", "/nonexistent/dir/x.db", "--port", "0"], "database"),
])
def test_serve_bad_flags_are_usage_errors(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
