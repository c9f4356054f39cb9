"""``syncbench run [SCENARIO|TRACE|DIR ...]``: run a suite and hold it to its expectations.

Modes: ``real`` (the default: the reference server, the link proxy and real
clients on loopback, time-compressed), ``sim`` (the SimPy fleet) and ``both``
(each scenario in both, with the simulator's key metrics set against the real
run's: the simulator's credibility, measured).
"""

from __future__ import annotations

import argparse

from bench.cli import EXIT_FAIL, EXIT_OK, UsageError, seed_arg, writable_dir
from bench.suite.lanes import AUTO_MAX_JOBS, MAX_JOBS

# The default suites. Real runs are short scenarios (scenarios/real/) so the
# whole real suite finishes in a few minutes; simulations can afford whole
# working days of whole fleets (scenarios/). Recorded traces go with both.
DEFAULT_SUITE = {
    "real": ["scenarios/real", "scenarios/traces"],
    "sim": ["scenarios"],
    "both": ["scenarios/real"],
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the scenario suite and check every rule (default: real mode)",
                       description="Run scenarios (*.yaml) and check recorded traces (*.jsonl); each item "
                                   "must meet its expectations. Writes one report per item under --out.")
    p.add_argument("paths", nargs="*", metavar="SCENARIO|TRACE|DIR",
                   help="scenario files, trace files or folders (default: scenarios/real/ and "
                        "scenarios/traces/; scenarios/ with --mode sim)")
    p.add_argument("--mode", choices=("real", "sim", "both"), default="real",
                   help="real clients through shaped links (default), the simulated fleet, or both "
                        "with their metrics compared")
    p.add_argument("--time-scale", type=_time_scale, default="auto", metavar="K|auto",
                   help="real mode: compress time K-fold; auto (the default): the largest K at "
                        "which this machine honours every link profile the scenario uses "
                        "(a short calibration, cached)")
    p.add_argument("--seed", type=seed_arg, default=None, help="override every scenario's seed")
    p.add_argument("--out", default="reports", metavar="DIR", help="where reports go (default: reports/)")
    p.add_argument("--no-report", action="store_true", help="check only; write no report")
    p.add_argument("--target-server", metavar="URL",
                   help="real mode: run the devices against this server (your own backend speaking "
                        "the protocol) instead of the reference one")
    p.add_argument("--target-token", metavar="TOKEN",
                   help="real mode: the admin token that provisions devices on --target-server")
    p.add_argument("--capture", action="store_true",
                   help="real mode: every device talks through the capture proxy; the traffic-"
                        "derived trace is judged too and compared with the devices' own "
                        "(traffic.jsonl in each report; docs/own-app.md)")
    p.add_argument("--jobs", type=_jobs, default="auto", metavar="N|auto",
                   help="items side by side in N lanes (worker processes); auto (the default): one "
                        f"per core, at most {AUTO_MAX_JOBS}; 1 with --target-server")
    p.set_defaults(func=run)


def _auto_or(kind: type, lo: float, hi: float, *, low_open: bool = False):
    """An argparse type: ``auto`` or a ``kind`` number in [lo, hi] ((lo, hi] with ``low_open``)."""
    noun = "a whole number" if kind is int else "a number"
    bounds = f"({lo:g}, {hi:g}]" if low_open else f"[{lo:g}, {hi:g}]"

    def parse(text: str) -> float | int | str:
        if text == "auto":
            return text
        try:
            n = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected 'auto' or {noun}, got {text!r}") from None
        if not ((lo < n) if low_open else (lo <= n)) or n > hi:
            raise argparse.ArgumentTypeError(f"must be in {bounds}, got {text}")
        return n

    return parse


# Lanes, and K up to 600 (the largest a client accepts).
_jobs = _auto_or(int, 1, MAX_JOBS)
_time_scale = _auto_or(float, 0, 600, low_open=True)


def run(args: argparse.Namespace) -> int:
    import time

    from bench.suite import SuiteError, collect, summary_table
    from bench.suite.lanes import auto_jobs, calibrate_real, plan_tasks, run_tasks

    if args.capture and args.mode == "sim":
        raise UsageError("--capture needs --mode real or both")
    if args.target_server and args.mode == "sim":
        raise UsageError("--target-server needs --mode real or both")
    if bool(args.target_server) != bool(args.target_token):
        raise UsageError("--target-server and --target-token go together")
    if args.jobs == "auto":
        jobs = auto_jobs(args.target_server)
    elif args.jobs > 1 and args.target_server:
        raise UsageError(f"--jobs {args.jobs} with --target-server: the items would share one "
                         "server's records and capacity; they run one at a time (--jobs 1)")
    else:
        jobs = args.jobs
    paths = args.paths or DEFAULT_SUITE[args.mode]
    modes = ("sim", "real") if args.mode == "both" else (args.mode,)
    started = time.perf_counter()
    try:
        items = collect(paths)
        target = {"target_server": args.target_server, "target_token": args.target_token} \
            if args.target_server else {}
        tasks = plan_tasks(items, modes, {"time_scale": args.time_scale, "seed": args.seed,
                                          "capture": args.capture, **target})
        run_id = time.strftime("run-%Y%m%d-%H%M%S")
        out_root = None if args.no_report else writable_dir(args.out, "--out") / run_id
        results = run_tasks(tasks, out_root, jobs=jobs, prepare_real=calibrate_real)
    except SuiteError as exc:
        raise UsageError(str(exc)) from None
    comparisons = []
    if args.mode == "both":
        done = {(t.path, t.kind): r for t, r in zip(tasks, results, strict=True)}
        comparisons = [(path.name, done[path, "sim"], done[path, "real"])
                       for path in items if (path, "real") in done]
    print(summary_table(results))
    for name, sim, real in comparisons:
        from bench.real import compare_modes

        print(f"\nsim vs real, {name}:\n{compare_modes(sim, real)}")
    if out_root is not None:
        from bench.report.run_index import write_run_report

        index = write_run_report(out_root, results, wall_s=time.perf_counter() - started)
        print(f"reports: {out_root}  (run report {index}, junit.xml, summary.json)")
    return EXIT_OK if all(r.holds for r in results) else EXIT_FAIL
