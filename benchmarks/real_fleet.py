"""Real fleets at the auto K: did the machine keep up, and what does a device-hour cost?

Runs 1, 10 and 50 real clients (``--quick``: 1 and 10, shorter days) acting
by the field_worker preset through their own shaped links (3G with an EDGE
stretch and a dead spot), a scripted probe device saving a photo every 45
spec seconds, a random dispatcher creating, changing and attaching to jobs,
the reference server and the link proxy in their own processes, the devices
spread over worker processes past 8. K is the runner's choice
(``--time-scale auto``: the calibrated K, lowered for a large fleet), unless
``--time-scale K`` is given.

For each fleet it prints K, the worst and median relative drift of measured
file transfers from their scaled targets (bench.real.drift: spec/links.md
"measured transfer times that miss their scaled targets") and the wall
seconds per simulated device-hour. ``ratio`` = 1 - the largest |worst
relative drift| over the fleets (target >= 0.9). The last line is a JSON object.

    python benchmarks/real_fleet.py [--quick] [--time-scale K|auto]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

FLEET = """
name: bench-real-fleet
policy: planado
seed: 21
duration: {minutes}m
settle: 4m
settle_link: 3g
fleet:
  size: {devices}
  link: 3g
  mobility: static
  behaviour: field_worker
  timeline:
    - {{t: {edge}, link: edge}}
    - {{t: {off}, link: offline}}
    - {{t: {back}, link: 3g}}
devices:
  - id: probe
    link: 3g
    timeline:
{probe}
dispatcher:
  jobs_at_start: 2
  create_per_h: 1
  edit_per_h: 1
  status_per_h: 1
  attach_per_h: 3
  attach_bytes: {{dist: lognormal, median: 300000, sigma: 0.4, cap: 1000000}}
"""


# One probe photo every 45 spec seconds while the probe is on 3G.
PROBE_EVERY_S = 45


def scenario(devices: int, minutes: int):
    import yaml

    from bench.scenario.parse import parse_scenario

    s = minutes * 60
    # The probe: a scripted device saving a 300 KB photo every PROBE_EVERY_S on
    # 3G, so the baseline and the fleet both have transfers to measure.
    probe = ["      - {t: 0, app: opened}", "      - {t: 5, edit: text, record: probe-r1, text: probe}"]
    probe += [f"      - {{t: {t}, edit: photo, record: probe-r1, bytes: 300000}}"
              for t in range(60, int(s * 0.4), PROBE_EVERY_S)]
    text = FLEET.format(devices=devices - 1, minutes=minutes, edge=int(s * 0.4),
                        off=int(s * 0.6), back=int(s * 0.7), probe="\n".join(probe))
    return parse_scenario(yaml.safe_load(text), "<bench-real-fleet>")


def run(devices: int, minutes: int, k: float | str) -> dict:
    from bench.real.drift import samples, summarize
    from bench.real.plan import plan_devices
    from bench.real.run import run_real_item
    from bench.trace import read_trace

    sc = scenario(devices, minutes)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        item = run_real_item(Path("bench-real-fleet.yaml"), sc, Path(tmp), time_scale=k,
                             echo=lambda *a: None)
        wall = time.perf_counter() - t
        events = [e for e in read_trace(item.report_dir / "trace.jsonl") if e["ev"] != "meta"]
        found = samples(events, {d.id: d.links for d in plan_devices(sc)},
                        item.extra["time_scale"], sc.duration_s)
    d = summarize(found)
    device_hours = devices * (sc.duration_s + sc.settle_s) / 3600
    return {"devices": devices, "time_scale": item.extra["time_scale"],
            "why": item.extra["scale"]["why"], "wall_s": round(wall, 1),
            "play_s": item.extra["wall_s"],
            "samples": d["n"], "worst_drift": d["worst"], "worst_sample": d["worst_sample"],
            "median_drift": round(statistics.median(s["drift"] for s in found), 4) if found else None,
            "wall_s_per_device_hour": round(wall / device_hours, 2),
            "failed_rules": sorted(r.id for r in item.results if r.verdict == "fail"),
            "errors": len(item.extra.get("errors", []))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 and 10 devices, 10 spec-minutes")
    ap.add_argument("--time-scale", default="auto", help="K, or auto (default)")
    args = ap.parse_args()
    k = args.time_scale if args.time_scale == "auto" else float(args.time_scale)
    fleets, minutes = ((1, 10), 10) if args.quick else ((1, 10, 50), 20)
    out = []
    for devices in fleets:
        r = run(devices, minutes, k)
        out.append(r)
        print(f"{devices} device(s) at K={r['time_scale']:g} ({r['why']}): worst drift "
              f"{r['worst_drift']}, median {r['median_drift']} over {r['samples']} transfers; "
              f"{r['wall_s_per_device_hour']} wall s per device-hour; worst: "
              f"{r['worst_sample']}; failed rules: "
              f"{', '.join(r['failed_rules']) or 'none'}", flush=True)
    worst = [abs(r["worst_drift"]) for r in out if r["worst_drift"] is not None]
    ratio = round(1 - max(worst), 3) if worst else None
    print(json.dumps({"ratio": ratio, "time_scale": {r["devices"]: r["time_scale"] for r in out},
                      "fleets": out}))


if __name__ == "__main__":
    main()
