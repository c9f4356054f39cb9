"""Throughput of ``syncbench check`` against the floor of parsing the trace.

Builds a synthetic trace of >= 1,000,000 events over >= 1,000 devices (a
working day of timer syncs, edits, acks, pushes, link changes and file
transfers per device), times ``syncbench check`` on it with both policies in
a fresh process each, and times the floor: parsing the same file line by line
with the standard ``json`` module and nothing else.

    ratio = floor time / check time   (higher is better; target >= 0.5, issue #12)

Peak memory of each check process is printed too (target < 300 MB). The last
line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from bench.trace import merge

# Per-device behaviour of the synthetic day (roughly one Planado worker).
SYNC_INTERVAL_S = 118.0
EDIT_EVERY_S = 300.0
DISPATCH_EVERY_S = 900.0
LINK_EVERY_S = 1200.0
LINKS = ("wifi", "lte", "3g", "edge", "lte")


def device_events(dev: str, hours: float, rng: random.Random):
    """One device's events in time order (a plausible, mostly clean day)."""
    t = 0.0
    end = hours * 3600
    n_sync = n_change = 0
    unsent: list[str] = []
    version = 0
    link = "wifi"
    yield {"ev": "link", "t": t, "dev": dev, "class": link}
    yield {"ev": "app", "t": t, "dev": dev, "state": "opened"}
    yield {"ev": "dispatch", "t": t, "op": "create", "record": f"{dev}-job", "assignee": dev, "version": 0}
    yield {"ev": "srv_push", "t": t, "dev": dev, "record": f"{dev}-job"}
    yield {"ev": "push", "t": t, "dev": dev, "record": f"{dev}-job"}
    next_edit = rng.expovariate(1 / EDIT_EVERY_S)
    next_dispatch = rng.expovariate(1 / DISPATCH_EVERY_S)
    next_link = rng.expovariate(1 / LINK_EVERY_S)
    trigger = "open"
    while True:
        t += 0.5
        n_sync += 1
        sid = f"{dev}-s{n_sync}"
        yield {"ev": "sync_start", "t": round(t, 3), "dev": dev, "sync": sid, "trigger": trigger}
        start = t
        t += 0.4 + rng.random()
        for ch in unsent:
            version += 1
            yield {"ev": "srv_apply", "t": round(t, 3), "dev": dev, "change": ch, "record": f"{dev}-job", "version": version}
            yield {"ev": "ack", "t": round(t, 3), "dev": dev, "change": ch}
        if unsent:
            unsent.clear()
            yield {"ev": "unsent", "t": round(t, 3), "dev": dev, "n": 0}
        yield {"ev": "recv", "t": round(t, 3), "dev": dev, "record": f"{dev}-job", "version": version, "sync": sid}
        yield {"ev": "sync_end", "t": round(t, 3), "dev": dev, "sync": sid, "ok": True}
        yield {"ev": "last_sync", "t": round(t, 3), "dev": dev, "at": round(start, 3)}
        if t >= end:
            break
        t_next = t + SYNC_INTERVAL_S
        trigger = "timer"
        while True:
            nxt = min(next_edit, next_dispatch, next_link, t_next)
            if nxt == t_next:
                t = max(t, t_next)
                break
            t = max(t, nxt)
            if nxt == next_edit:
                next_edit = t + rng.expovariate(1 / EDIT_EVERY_S)
                n_change += 1
                ch = f"{dev}-c{n_change}"
                kind = "text" if rng.random() < 0.8 else "status"
                yield {"ev": "edit", "t": round(t, 3), "dev": dev, "change": ch, "record": f"{dev}-job", "kind": kind}
                unsent.append(ch)
                yield {"ev": "unsent", "t": round(t, 3), "dev": dev, "n": len(unsent)}
                if kind == "status":
                    trigger = "status"
                    break
            elif nxt == next_dispatch:
                next_dispatch = t + rng.expovariate(1 / DISPATCH_EVERY_S)
                version += 1
                rec = f"{dev}-job"
                yield {"ev": "dispatch", "t": round(t, 3), "op": "edit", "record": rec, "assignee": dev, "version": version}
                yield {"ev": "srv_push", "t": round(t + 0.1, 3), "dev": dev, "record": rec}
                yield {"ev": "push", "t": round(t + 0.3, 3), "dev": dev, "record": rec}
                t += 0.3
                trigger = "push"
                break
            else:
                next_link = t + rng.expovariate(1 / LINK_EVERY_S)
                link = rng.choice(LINKS)
                yield {"ev": "link", "t": round(t, 3), "dev": dev, "class": link}
                if link != "edge":
                    size = rng.randrange(50_000, 500_000)
                    fid = f"{dev}-f{n_sync}"
                    yield {"ev": "file_start", "t": round(t + 0.1, 3), "dev": dev, "file": fid, "dir": "down", "bytes": size}
                    yield {"ev": "file_end", "t": round(t + 2.1, 3), "dev": dev, "file": fid, "dir": "down", "ok": True, "bytes": size}
                    t += 2.1
    end = max(t, end)
    yield {"ev": "snapshot", "t": round(end + 10, 3), "dev": dev, "records": {f"{dev}-job": version}}
    yield {"ev": "srv_snapshot", "t": round(end + 10, 3), "dev": dev, "records": {f"{dev}-job": version}}


def build(path: Path, devices: int, hours: float, seed: int) -> int:
    rng = random.Random(seed)
    streams = [device_events(f"d{i:05d}", hours, random.Random(rng.random())) for i in range(devices)]
    n = 0
    with open(path, "wb") as fh:
        fh.write(orjson.dumps({"ev": "meta", "schema": "syncbench.trace/1", "policy": "planado",
                               "settled": True, "seed": seed}) + b"\n")
        for ev in merge(*streams):
            fh.write(orjson.dumps(ev) + b"\n")
            n += 1
    return n


def floor(path: Path) -> float:
    started = time.perf_counter()
    with open(path, "rb") as fh:
        for line in fh:
            json.loads(line)
    return time.perf_counter() - started


CHILD = """
import resource, sys, time
from bench.cli import main
t0 = time.perf_counter()
code = main(["check", sys.argv[1], "--policy", sys.argv[2], "--json"])
el = time.perf_counter() - t0
print("BENCH", el, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, code, file=sys.stderr)
"""


def timed_check(path: Path, policy: str) -> tuple[float, float, dict]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), policy], capture_output=True)
    line = [x for x in proc.stderr.decode().splitlines() if x.startswith("BENCH")]
    if not line:
        raise SystemExit(f"check failed: {proc.stderr.decode()[-500:]}")
    _, el, rss_kb, _code = line[-1].split()
    verdicts = orjson.loads(proc.stdout)
    return float(el), int(rss_kb) / 1024, verdicts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="a small trace, for a smoke test")
    args = ap.parse_args()
    if args.quick:
        args.devices, args.hours = 50, 1.0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.jsonl"
        t0 = time.perf_counter()
        n = build(path, args.devices, args.hours, args.seed)
        print(f"built {n:,} events over {args.devices} devices ({path.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        fl = min(floor(path) for _ in range(2))
        print(f"floor (json.loads per line): {fl:.2f} s", flush=True)
        out = {"events": n, "devices": args.devices, "floor_s": round(fl, 3)}
        ratios = []
        for policy in ("planado", "playmaker"):
            el, rss, verdicts = timed_check(path, policy)
            fails = [r["id"] for r in verdicts["rules"] if r["verdict"] == "fail"]
            nas = [r["id"] for r in verdicts["rules"] if r["verdict"] == "n/a"]
            print(f"check --policy {policy}: {el:.2f} s, {n / el / 1e6:.2f} M events/s, "
                  f"peak {rss:.0f} MB; ratio {fl / el:.2f}; fail {fails}; n/a {nas}", flush=True)
            out[f"{policy}_s"] = round(el, 3)
            out[f"{policy}_peak_mb"] = round(rss)
            ratios.append(fl / el)
        out["ratio"] = round(min(ratios), 3)
        out["peak_mb"] = max(out["planado_peak_mb"], out["playmaker_peak_mb"])
        print(json.dumps(out))


if __name__ == "__main__":
    main()
