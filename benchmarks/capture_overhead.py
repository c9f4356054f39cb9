"""What the capture proxy costs: request rate and latency, direct and captured.

Measures, in one run, against the reference server (its own process):

1. **direct**: sync requests with nothing to do (``POST /v1/sync``), straight to
   the server, from ``--clients`` keep-alive clients for ``--seconds`` each;
2. **captured**: the same requests through ``syncbench capture`` (mitmproxy in
   its own process, recording every flow to ``flows.jsonl``, no link shaping:
   its route goes straight to the server).

``ratio`` = captured / direct request rate (target >= 0.5). Also printed: the
median and p90 latency of one client alone, both ways, and what the capture
adds per request. The last line is a JSON object.

    python benchmarks/capture_overhead.py [--seconds 5] [--clients 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from reference_server.testing import running_server


def hammer(url: str, token: str, seconds: float, clients: int) -> tuple[float, list[float]]:
    """(requests per second over all clients, per-request latencies of client 0)."""
    body = {"device": "w1", "cursor": None, "mode": "full", "changes": []}
    counts = [0] * clients
    lat: list[float] = []
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as c:
            c.post("/v1/sync", json=body).raise_for_status()  # connection up first
            while time.perf_counter() < stop:
                t = time.perf_counter()
                c.post("/v1/sync", json=body).raise_for_status()
                if i == 0:
                    lat.append(time.perf_counter() - t)
                counts[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sum(counts) / (time.perf_counter() - started), lat


def start_capture(server: str, out: Path) -> tuple[subprocess.Popen, str]:
    via = server.removeprefix("http://")
    proc = subprocess.Popen([sys.executable, "-m", "bench", "capture", "--upstream", server,
                             "--listen", "127.0.0.1:0", "--route", via, "--out", str(out),
                             "--confdir", str(out / "mitmproxy"), "--no-check", "--quiet"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("capture listening "):
        proc.kill()
        raise SystemExit(f"capture did not start: {line!r}")
    return proc, "http://" + line.split()[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--clients", type=int, default=2)
    args = ap.parse_args()
    if not (0 < args.seconds <= 120 and 1 <= args.clients <= 64):
        raise SystemExit("--seconds must be in (0, 120] and --clients in [1, 64]")
    with running_server(subprocess=True) as srv, tempfile.TemporaryDirectory() as tmp:
        token = srv.provision("w1", role="worker")
        proc, captured = start_capture(srv.url, Path(tmp))
        try:
            # One client alone for latency, then all of them for the rate; direct first.
            _, lat_direct = hammer(srv.url, token, args.seconds / 2, 1)
            _, lat_captured = hammer(captured, token, args.seconds / 2, 1)
            rate_direct, _ = hammer(srv.url, token, args.seconds, args.clients)
            rate_captured, _ = hammer(captured, token, args.seconds, args.clients)
        finally:
            proc.terminate()
            proc.wait(30)
        flows = sum(1 for _ in open(Path(tmp) / "flows.jsonl"))

    def ms(xs: list[float], q: float) -> float:
        return round(1000 * statistics.quantiles(xs, n=100)[int(q) - 1], 3) if len(xs) > 2 else 0.0

    result = {
        "ratio": round(rate_captured / rate_direct, 3),
        "direct_rps": round(rate_direct, 1), "captured_rps": round(rate_captured, 1),
        "clients": args.clients,
        "p50_direct_ms": ms(lat_direct, 50), "p50_captured_ms": ms(lat_captured, 50),
        "p90_direct_ms": ms(lat_direct, 90), "p90_captured_ms": ms(lat_captured, 90),
        "added_p50_ms": round(ms(lat_captured, 50) - ms(lat_direct, 50), 3),
        "flows_recorded": flows,
    }
    print(f"direct {result['direct_rps']} req/s, captured {result['captured_rps']} req/s "
          f"({args.clients} clients); one client p50 {result['p50_direct_ms']} ms direct, "
          f"{result['p50_captured_ms']} ms captured (+{result['added_p50_ms']} ms)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
