"""``syncbench selftest``: every mutant fails its rule, the true policies pass every rule.

Exit status: 0 when every row is OK, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys

from bench.cli import EXIT_FAIL, EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("selftest", help="check that the rules catch every mutant",
                       description="Run every client mutant (reference_client.mutants) and server "
                                   "mutant (bench.scenario.mutants) in a scripted day built to exercise "
                                   "its rule, and the true policies. Each mutant must fail its "
                                   "rule; the true policies must pass every rule. Exit 0: all OK.")
    p.add_argument("--mode", choices=("sim", "real"), default="sim",
                   help="where the runs happen: sim (the fleet simulator, seconds) or real (every "
                        "client mutant on a real client through shaped links, and every server "
                        "mutant of reference_server run as a black-box target; about five minutes)")
    p.add_argument("--no-server-mutants", action="store_true",
                   help="real mode: leave out the server mutants (client mutants only)")
    p.add_argument("--time-scale", type=float, default=60.0, metavar="K",
                   help="real mode: compress time K-fold (default 60)")
    p.add_argument("--only", metavar="NAME", action="append", default=[],
                   help="run only this mutant or true policy (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench.cli import UsageError

    if args.mode == "real":
        if args.only:
            raise UsageError("--only goes with --mode sim (real mode runs each policy's mutants side by side)")
        from bench.real import RealRunError
        from bench.real.selftest import run_real_selftest

        try:
            table, ok = run_real_selftest(time_scale=args.time_scale,
                                          servers=not args.no_server_mutants)
        except RealRunError as exc:
            raise UsageError(str(exc)) from None
        print(table)
        return EXIT_OK if ok else EXIT_FAIL
    from bench.sim.selftest import Row, plan, render, run_one

    todo = plan()
    if args.only:
        names = {n for n, _ in todo}
        unknown = [n for n in args.only if n not in names]
        if unknown:
            raise UsageError(f"--only {unknown[0]!r}: not a mutant or policy "
                             f"(known: {', '.join(sorted(names))})")
        todo = [(n, s) for n, s in todo if n in args.only]
    rows: list[Row] = []
    for i, (name, side) in enumerate(todo, 1):
        if sys.stderr.isatty():
            sys.stderr.write(f"\rselftest {i}/{len(todo)}: {name:<32}")
            sys.stderr.flush()
        rows.append(run_one(name, side))
    if sys.stderr.isatty():
        sys.stderr.write("\r" + " " * 60 + "\r")
    print(render(rows))
    return EXIT_OK if all(r.ok for r in rows) else EXIT_FAIL
