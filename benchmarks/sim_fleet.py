"""Benchmark: the Planado working-day fleet, every rule online, against plain SimPy.

    python benchmarks/sim_fleet.py --devices 10000 --hours 24
    python benchmarks/sim_fleet.py --quick
    python benchmarks/sim_fleet.py --devices 10000 --hours 24 --shards 2
    python benchmarks/sim_fleet.py --devices 100000 --hours 24 --shards 8 --no-floor  # memory

``--shards S`` runs the fleet as S shards in worker processes
(bench.sim.shards); the floor stays one process, so the ratio shows what the
shards buy on this machine.

The fleet is ``scenarios/planado-day.yaml`` resized to ``--devices`` and
``--hours`` (plus its settle window), run with the rule checker fed every
event and no trace file. The floor, in the same process and over the same
span of simulated time, is plain SimPy doing the least a fleet can do: one
process per device with one timeout every 120 s (the Planado interval).

    ratio = floor wall time / fleet wall time        (1.0: as fast as the floor)

Also printed: the process's peak resident memory and simulated device-hours
per wall second. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCENARIO = ROOT / "scenarios" / "planado-day.yaml"
# The floor's timeout: the Planado 2-minute interval (spec/rules.md interval_s).
FLOOR_INTERVAL_S = 120.0
QUICK_DEVICES, QUICK_HOURS = 200, 0.5
# The scenario's 4 workers at 20 ms each serve 200 requests/s, while a Planado
# fleet asks about devices/120 per second: beyond ~20,000 devices the queue is
# unstable, syncs wait without bound and rules fail (that is the simulator
# working). The benchmark measures the simulator, so it provisions the server
# like an operator would: one worker per this many devices (~17 % utilisation).
DEVICES_PER_WORKER = 1000


def peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def floor(devices: int, span_s: float) -> float:
    import simpy

    env = simpy.Environment()

    def device(env):
        while True:
            yield env.timeout(FLOOR_INTERVAL_S)

    for _ in range(devices):
        env.process(device(env))
    t0 = time.perf_counter()
    env.run(until=span_s)
    return time.perf_counter() - t0


def load_span(hours: float) -> float:
    """Simulated seconds the fleet runs: ``hours`` plus the scenario's settle window."""
    from bench.scenario import load_scenario

    sc = load_scenario(SCENARIO).with_overrides(hours=hours)
    return sc.duration_s + sc.settle_s


def fleet(devices: int, hours: float, seed: int | None, progress: bool, shards: int = 0):
    from bench.scenario import load_scenario
    from bench.sim import Fleet

    sc = load_scenario(SCENARIO).with_overrides(devices=devices, hours=hours, seed=seed)
    workers = max(sc.server.workers, -(-devices // DEVICES_PER_WORKER))
    sc = sc.but(server=dataclasses.replace(sc.server, workers=workers))
    def show(now, end, events):
        sys.stderr.write(f"\r  fleet: {100 * now / end:5.1f}%  events={events}  "
                         f"peak={peak_mb():.0f} MB")
        sys.stderr.flush()

    t0 = time.perf_counter()
    if shards:
        from bench.sim import simulate
        from bench.sim.shards import ShardedRun

        result = simulate(sc, shards=ShardedRun(shards=shards), progress=show if progress else None)
        build = 0.0
    else:
        f = Fleet(sc)
        build = time.perf_counter() - t0
        result = f.run(show if progress else None)
    if progress:
        sys.stderr.write("\n")
    return sc, result, build, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--quick", action="store_true",
                    help=f"{QUICK_DEVICES} devices x {QUICK_HOURS} h (a smoke run)")
    ap.add_argument("--no-floor", action="store_true", help="skip the floor (memory mode)")
    ap.add_argument("--progress", action="store_true", help="progress on stderr")
    ap.add_argument("--shards", type=int, default=0, help="run as S shards in worker processes")
    args = ap.parse_args(argv)
    if args.quick:
        args.devices, args.hours = QUICK_DEVICES, QUICK_HOURS
    if args.devices < 1 or args.hours <= 0:
        ap.error("--devices and --hours must be positive")

    # The floor runs first, in a clean process: after a fleet, its engines and
    # rule state wait in reference cycles for a full collection, and the
    # floor's own collections walk them (measured: 10,000 devices x 24 h,
    # floor 19.6 s alone, 34.0 s after the fleet -- a flattered ratio).
    span = load_span(args.hours)
    floor_s = None if args.no_floor else floor(args.devices, span)
    sc, result, build_s, fleet_s = fleet(args.devices, args.hours, args.seed, args.progress,
                                         args.shards)
    assert sc.duration_s + sc.settle_s == span
    m = result.metrics
    fails = sorted(r.id for r in result.results if r.verdict == "fail")
    dev_h = args.devices * args.hours
    out = {
        "benchmark": "sim_fleet", "devices": args.devices, "hours": args.hours,
        "settle_s": sc.settle_s, "seed": sc.seed, "server_workers": sc.server.workers,
        "fleet_s": round(fleet_s, 3), "build_s": round(build_s, 3),
        "floor_s": None if floor_s is None else round(floor_s, 3),
        "ratio": None if floor_s is None else round(floor_s / fleet_s, 4),
        "peak_mb": round(peak_mb(), 1), "shards": args.shards or 1,
        "shard_peak_mb": m.get("shard_peak_mb", [round(peak_mb(), 1)]),
        # At most `cores` shards run at once: the peak in all is at most this
        # process plus the largest that many shard peaks.
        "peak_mb_all": round(peak_mb() + sum(sorted(m.get("shard_peak_mb", []))[-len(
            os.sched_getaffinity(0)):]), 1),
        "device_hours_per_s": round(dev_h / fleet_s, 2),
        "events": m["events"], "events_per_s": round(m["events"] / fleet_s),
        "syncs": m["syncs"], "rules_failed": fails,
    }
    print(f"fleet: {args.devices} devices x {args.hours:g} h (+{sc.settle_s:g} s settle), "
          f"every rule online: {fleet_s:.2f} s ({build_s:.2f} s building), "
          f"{m['events']} events, {out['events_per_s']} events/s")
    if floor_s is not None:
        print(f"floor: plain SimPy, one timeout per device every {FLOOR_INTERVAL_S:g} s: "
              f"{floor_s:.3f} s")
        print(f"ratio (floor / fleet): {out['ratio']}")
    print(f"peak memory: {out['peak_mb']:.0f} MB here, per shard {out['shard_peak_mb']} MB, "
          f"{out['peak_mb_all']:.0f} MB in all; {out['device_hours_per_s']} device-hours "
          f"per wall second; rules failed: {', '.join(fails) or 'none'}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
