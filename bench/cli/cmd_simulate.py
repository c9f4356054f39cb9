"""``syncbench simulate SCENARIO``: run a simulated fleet with every rule online.

Exit status: 0 when the run met the scenario's ``expect:`` (by default: no
rule fails), 1 when it did not, 2 on unusable input (the scenario file's
problem is named with its key path).
"""

from __future__ import annotations

import argparse
import sys

from bench.cli import EXIT_FAIL, EXIT_OK, UsageError, positive_arg, seed_arg


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate a fleet from a scenario file and check every rule",
                       description="Run a scenario (scenarios/*.yaml) in the fleet simulator with "
                                   "every rule of its policy checked as events happen. Exit 0: "
                                   "the scenario's expect: was met (default: no rule fails); 1: "
                                   "it was not; 2: unusable input.")
    p.add_argument("scenario", help="scenario file (YAML)")
    p.add_argument("--devices", type=positive_arg(int), metavar="N", help="fleet size (explicit devices included)")
    p.add_argument("--hours", type=positive_arg(float), metavar="H", help="simulated hours before the settle window")
    p.add_argument("--seed", type=seed_arg, metavar="S", help="random seed (default: the scenario's)")
    p.add_argument("--trace", metavar="FILE", help="write the trace here (default: OUT/trace.jsonl)")
    p.add_argument("--out", metavar="DIR", help="report directory (default: reports/<scenario>-<seed>/)")
    p.add_argument("--no-plots", action="store_true",
                   help="write verdicts, JUnit and metrics only (no plots, no HTML)")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--shards", type=positive_arg(int), metavar="N",
                   help="split the fleet into N independent shards run in parallel worker "
                        "processes, then merge traces, verdicts and metrics (docs/simulation.md)")
    p.add_argument("--shard-memory-mb", type=positive_arg(int), metavar="MB",
                   help="cap each local shard process's memory; a shard past it fails, named")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run the shards on this Dask distributed scheduler (tcp://host:8786; "
                        "needs --shards and the 'dask' extra; --out on a shared filesystem)")
    p.set_defaults(func=run)


def progress_line(name: str, devices: int, now: float, end: float, wall_s: float) -> str:
    """``simulating NAME: 40% 1,200 of 3,000 device-hours, 310 device-h/s, ETA 6 s``
    (a sharded run's NAME says how many: ``planado-day (4 shards)``)."""
    pct = int(100 * now / end) if end else 100
    done, total = devices * now / 3600.0, devices * end / 3600.0
    rate = done / wall_s if wall_s > 0 else 0.0
    eta = (total - done) / rate if rate > 0 else None
    tail = f", ETA {eta:,.0f} s" if eta is not None and pct < 100 else ""
    return (f"simulating {name}: {pct:3d}% {done:,.0f} of {total:,.0f} device-hours, "
            f"{rate:,.0f} device-h/s{tail}")


def _progress(name: str, devices: int, *, out=None, clock=None, env=None):
    """The progress callback, or None when it would only be noise: ``--quiet``
    decides before this, and a CI job (``CI`` set) that is not a terminal gets none."""
    import os
    import time

    out = out or sys.stderr
    clock = clock or time.monotonic
    env = os.environ if env is None else env
    tty = out.isatty()
    if not tty and env.get("CI"):
        return None
    start = clock()
    last = [-1]

    def show(now: float, end: float, events: int) -> None:
        line = progress_line(name, devices, now, end, clock() - start)
        pct = int(100 * now / end) if end else 100
        if tty:
            out.write("\r" + line + "   ")
            if pct >= 100:
                out.write("\n")
        elif pct // 10 != last[0]:  # a log gets a line every tenth
            last[0] = pct // 10
            out.write(line + "\n")
        out.flush()

    return show


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from bench.rules.render import table
    from bench.scenario import ScenarioError, limits, load_scenario
    from bench.sim import simulate
    from bench.sim.outputs import write_outputs

    # Sizes are checked before the scenario is even read: --devices 10**9
    # must not build a billion device ids first.
    problem = limits.size_problem(args.devices or 0, (args.hours or 0) * 3600.0,
                                  devices="--devices", duration="--hours", shards=args.shards or 1)
    if problem:
        raise UsageError(problem)
    try:
        sc = load_scenario(args.scenario)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    sc = sc.with_overrides(devices=args.devices, hours=args.hours, seed=args.seed)
    problem = limits.size_problem(sc.n_devices, sc.duration_s,
                                  devices="--devices" if args.devices else "devices",
                                  duration="--hours" if args.hours else "duration",
                                  shards=args.shards or 1)
    if problem:
        raise UsageError(f"{args.scenario}: {problem}")
    from bench.sim.partition import ShardError

    shards = None
    if args.dask and not args.shards:
        raise UsageError("--dask needs --shards N (how many shards to run on the cluster)")
    if args.shard_memory_mb and not args.shards:
        raise UsageError("--shard-memory-mb needs --shards N")
    if args.shards:
        from bench.sim.partition import partition
        from bench.sim.shards import ShardedRun

        try:
            partition(sc, args.shards)  # a split that cannot be made is refused before any work
        except ShardError as exc:
            raise UsageError(f"{args.scenario}: {exc}") from None
        shards = ShardedRun(shards=args.shards, dask=args.dask, memory_mb=args.shard_memory_mb)
    label = sc.name if not args.shards else f"{sc.name} ({args.shards} shards)"
    out = Path(args.out) if args.out else Path("reports") / f"{sc.name}-{sc.seed}"
    trace = Path(args.trace) if args.trace else out / "trace.jsonl"
    try:
        out.mkdir(parents=True, exist_ok=True)
        trace.parent.mkdir(parents=True, exist_ok=True)
        result = simulate(sc, trace=trace, shards=shards,
                          progress=None if args.quiet else _progress(label, sc.n_devices))
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None
    except ShardError as exc:  # a shard that failed or died, or an unreachable cluster: named
        raise UsageError(str(exc).splitlines()[0]) from None
    print(table(sc.policy, result.results, source=f"{sc.name} (seed {sc.seed})"))
    m = result.metrics
    print(f"{m['devices']} devices x {m['hours']:g} h + {m['settle_s']:g} s settle: "
          f"{m['events']} events, {m['syncs']} syncs, {m['wall_s']:g} s wall")
    if m.get("shards"):
        print(f"{m['shards']} shards: devices {m['shard_devices']}, wall s {m['shard_wall_s']}, "
              f"peak MB {m['shard_peak_mb']}")
    write_outputs(out, result, trace_path=trace, plots=not args.no_plots)
    print(f"report: {out}/")
    if result.problems:
        print("expect: not met:")
        for p in result.problems:
            print(f"  {p}")
        return EXIT_FAIL
    if sc.expect:
        print(f"expect: met ({len(sc.expect)} expectation(s))")
    return EXIT_OK
