"""Real Locust runs against the reference server, each in its own process.

Locust monkey-patches the standard library with gevent on import, so every run
goes through ``python -m bench load`` in a subprocess and this pytest process
stays clean. Runs are short (a few seconds, a few dozen devices) with the
2-minute cadence compressed (time scale 60: a timer sync every 2 wall
seconds), so each device syncs several times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Generous: a loaded 2-core CI machine imports Locust, starts the server
# subprocess and provisions the fleet before the run's own seconds begin.
RUN_TIMEOUT_S = 120
FAST = ["--devices", "24", "--spawn-rate", "200", "--time-scale", "60", "--photo-bytes", "20000"]


def load(*args: str, out: Path | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "bench", "load", *FAST, *args]
    cmd += ["--out", str(out)] if out else ["--no-report"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


@pytest.mark.slow
def test_steady_run_syncs_passes_lenient_gates_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "steady"
    r = load("--profile", "steady", "--duration", "4", "--p99-ms", "5000",
             "--max-fail-ratio", "0", "--min-rps", "0.5", out=out)
    assert r.returncode == 0, r.stderr
    data = json.loads((out / "load.json").read_text())
    s = data["summary"]
    assert s["syncs"] > 24  # every device opened and synced, most at least twice
    assert s["failures"] == 0 and s["sync_failures"] == 0
    assert data["ok"] and all(g["ok"] for g in data["gates"]) and len(data["gates"]) == 3
    for name in ("index.html", "locust.html", "locust_stats.csv", "locust_stats_history.csv",
                 "locust_failures.csv", "plots/rps.png", "plots/latency.png"):
        assert (out / name).stat().st_size > 0, name
    assert "POST /v1/sync" in (out / "locust_stats.csv").read_text()
    assert 'href="locust.html"' in (out / "index.html").read_text()
    assert sum(data["series"]["rps"]) > 0
    # Every device held its push WebSocket, and the server's pushes were timed.
    # (22 of 24: a loaded machine may still be connecting the last when the run ends)
    assert s["push_sockets_max"] >= 22 and s["push_connects"] >= s["push_sockets_max"]
    assert s["push_pushes"] > 0 and s["push_delivery_p50_ms"] is not None
    assert s["push_delivery_p50_ms"] <= s["push_delivery_p99_ms"]


@pytest.mark.slow
def test_without_push_sockets_the_dispatcher_relays(tmp_path: Path) -> None:
    out = tmp_path / "relay"
    r = load("--profile", "burst", "--duration", "4", "--no-push-sockets", out=out)
    assert r.returncode == 0, r.stderr
    s = json.loads((out / "load.json").read_text())["summary"]
    assert not any(k.startswith("push_") for k in s)
    assert s["syncs_by_trigger"].get("push", 0) >= 8


@pytest.mark.slow
def test_impossible_gate_fails_with_one_line_reason_in_a_storm(tmp_path: Path) -> None:
    out = tmp_path / "storm"
    r = load("--profile", "storm", "--duration", "5", "--p99-ms", "0.001", out=out)
    assert r.returncode == 1, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "gate failed" in ln]
    assert len(lines) == 1 and "--p99-ms" in lines[0] and "0.001" in lines[0]
    data = json.loads((out / "load.json").read_text())
    assert data["ok"] is False and data["gate_reason"] in lines[0]
    # Every device came back online at the marked moment and synced for it.
    assert 0 < data["marks"]["offline"] < data["marks"]["reconnect"] < 5
    assert data["summary"]["syncs_by_trigger"].get("link", 0) >= 12


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1])
def test_distributed_burst_with_one_worker_completes(tmp_path: Path, workers: int) -> None:
    out = tmp_path / "burst"
    r = load("--profile", "burst", "--duration", "5", "--workers", str(workers),
             "--p99-ms", "5000", "--max-fail-ratio", "0", out=out)
    assert r.returncode == 0, r.stderr
    data = json.loads((out / "load.json").read_text())
    assert data["summary"]["syncs"] > 0 and data["summary"]["failures"] == 0
    assert data["cpu"]["processes"] == 1 + workers
    # The dispatcher's bulk change ran (its marks reached the master) and edited every job.
    assert "burst_start" in data["marks"] and "burst_end" in data["marks"]
    edits = next(e for e in data["requests"] if e["name"] == "PATCH /v1/web/jobs/[id]")
    assert edits["requests"] >= 24
    # Its pushes reached the devices' sockets on the worker and made them sync (counts
    # and delivery times reported by the worker through Locust's report_to_master;
    # the change times crossed master -> worker as "sent" messages).
    assert data["summary"]["syncs_by_trigger"].get("push", 0) >= 8
    assert data["summary"]["push_sockets_max"] >= 22
    assert data["summary"]["push_delivery_p50_ms"] is not None
