"""``syncbench report DIR``: rebuild a run's report from ``DIR/trace.jsonl``.

The trace is re-checked (policy: ``--policy``, else the trace meta's, else the
one the run recorded) and every report file is written again; the scenario,
series and run facts the run saved in ``DIR/run.json`` are kept.
"""

from __future__ import annotations

import argparse
import sys

from bench.cli import EXIT_FAIL, EXIT_OK, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="rebuild a run's HTML report, verdicts, metrics and plots",
                       description="Rebuild the report in DIR from DIR/trace.jsonl: verdicts.json, junit.xml, "
                                   "metrics.json, plots/*.png and index.html. Exit 0: every judged rule "
                                   "passes; 1: a rule fails; 2: unusable input.")
    p.add_argument("dir", metavar="DIR", help="a report directory (holding trace.jsonl)")
    p.add_argument("--policy", help="planado, playmaker, or --policy-file's policy (default: the trace's meta.policy)")
    p.add_argument("--policy-file", metavar="FILE", help="a YAML file defining your own policy")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench.report.rebuild import ReportError, rebuild_report
    from bench.rules import PolicyError, get_policy, load_policy_file
    from bench.rules.render import summary
    from bench.trace import TraceError

    policy = None
    try:
        if args.policy_file:
            policy = load_policy_file(args.policy_file)
            if args.policy and args.policy != policy.name:
                raise UsageError(f"--policy {args.policy!r} does not match {args.policy_file}'s policy {policy.name!r}")
        elif args.policy:
            policy = get_policy(args.policy)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
    try:
        index, results = rebuild_report(args.dir, policy=policy)
    except (ReportError, TraceError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"{args.dir}: cannot write the report ({exc.strerror or exc})") from None
    print(f"{index}: {summary(results)}", file=sys.stdout)
    return EXIT_FAIL if any(r.verdict == "fail" for r in results) else EXIT_OK
