"""``syncbench run [SCENARIO|TRACE|DIR ...]``: run a suite and hold it to its expectations."""

from __future__ import annotations

import argparse
import sys

from bench.cli import EXIT_FAIL, EXIT_OK, UsageError

# The default suites: simulated runs and recorded traces; real runs are kept
# short enough for the whole real suite to finish in a few minutes.
DEFAULT_SUITE = {"sim": "scenarios", "real": "scenarios/real"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the scenario suite (default: scenarios/) and check every rule",
                       description="Run scenarios (*.yaml) and check recorded traces (*.jsonl); each item "
                                   "must meet its expectations. Writes one report per item under --out.")
    p.add_argument("paths", nargs="*", metavar="SCENARIO|TRACE|DIR",
                   help="scenario files, trace files or folders (default: scenarios/, or "
                        "scenarios/real/ with --mode real)")
    p.add_argument("--mode", choices=("sim", "real"), default="sim",
                   help="how scenarios run: simulated fleet or real clients through shaped links")
    p.add_argument("--time-scale", type=float, default=None, metavar="K",
                   help="real mode: compress time K-fold (default: the scenario's)")
    p.add_argument("--seed", type=int, default=None, help="override every scenario's seed")
    p.add_argument("--out", default="reports", metavar="DIR", help="where reports go (default: reports/)")
    p.add_argument("--no-report", action="store_true", help="check only; write no report")
    p.add_argument("--target-server", metavar="URL",
                   help="real mode: run the devices against this server (your own backend speaking "
                        "the protocol) instead of the reference one")
    p.add_argument("--target-token", metavar="TOKEN",
                   help="real mode: the admin token that provisions devices on --target-server")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from bench.rules import PolicyError
    from bench.suite import SuiteError, collect, run_trace_item, summary_table
    from bench.trace import TraceError

    if args.target_server and args.mode != "real":
        raise UsageError("--target-server needs --mode real")
    paths = args.paths or [DEFAULT_SUITE[args.mode]]
    try:
        items = collect(paths)
    except SuiteError as exc:
        raise UsageError(str(exc)) from None
    run_id = time.strftime("run-%Y%m%d-%H%M%S")
    out_root = None if args.no_report else Path(args.out) / run_id
    results = []
    for path in items:
        print(f"-- {path}", file=sys.stderr, flush=True)
        try:
            if path.suffix == ".jsonl":
                results.append(run_trace_item(path, out_root))
            else:
                results.append(_run_scenario(path, out_root, args))
        except (TraceError, PolicyError, SuiteError) as exc:
            raise UsageError(str(exc)) from None
    print(summary_table(results))
    if out_root is not None:
        print(f"reports: {out_root}")
    return EXIT_OK if all(r.holds for r in results) else EXIT_FAIL


def _run_scenario(path, out_root, args):
    from bench.suite import SuiteError

    try:
        from bench.suite_scenarios import run_scenario_item
    except ImportError:
        raise SuiteError(f"{path}: scenario runs are not available in this build") from None
    target = {"target_server": args.target_server, "target_token": args.target_token} if args.target_server else {}
    return run_scenario_item(path, out_root, mode=args.mode, time_scale=args.time_scale, seed=args.seed,
                             **target)
