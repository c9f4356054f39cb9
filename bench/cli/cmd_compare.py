"""``syncbench compare DIR_A DIR_B``: what changed between two runs, for release gating.

``DIR_A`` is the baseline, ``DIR_B`` the candidate (both report directories).
With ``--fail-on-regression`` the exit status is 1 when a rule went from
pass or n/a to fail, or a key metric got worse by more than
``--metric-tolerance``; otherwise 0. Unusable input exits 2.
"""

from __future__ import annotations

import argparse
import sys

from bench.cli import EXIT_FAIL, EXIT_OK, UsageError

# The documented default of --metric-tolerance ("--metric-tolerance 0.2").
DEFAULT_METRIC_TOLERANCE = 0.2


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="compare two runs' verdicts and metrics",
                       description="Compare run DIR_B against baseline DIR_A: rules whose verdict changed "
                                   "(pass->fail is a regression), violation counts, key metrics with their "
                                   "relative change.")
    p.add_argument("dir_a", metavar="DIR_A", help="baseline report directory")
    p.add_argument("dir_b", metavar="DIR_B", help="candidate report directory")
    p.add_argument("--json", action="store_true", help="print the comparison as one JSON object")
    p.add_argument("--fail-on-regression", action="store_true",
                   help="exit 1 when a rule regressed or a metric got worse beyond the tolerance")
    p.add_argument("--metric-tolerance", type=float, default=DEFAULT_METRIC_TOLERANCE, metavar="FRACTION",
                   help=f"relative worsening of a key metric that counts as a regression "
                        f"(default {DEFAULT_METRIC_TOLERANCE})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import orjson

    from bench.report.compare import CompareError, as_text, compare_runs

    try:
        cmp = compare_runs(args.dir_a, args.dir_b, tolerance=args.metric_tolerance)
    except CompareError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(cmp) + b"\n")
    else:
        print(as_text(cmp))
    return EXIT_FAIL if args.fail_on_regression and cmp["regression"] else EXIT_OK
