"""``syncbench check TRACE``: judge a trace by a policy's rules (rules.md, "The check command")."""

from __future__ import annotations

import argparse
import sys

from bench.cli import EXIT_FAIL, EXIT_OK, EXIT_USAGE, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check", help="check a trace against a policy's rules",
                       description="Check a syncbench.trace/1 file against the rules of a policy. "
                                   "Exit 0: every judged rule passes; 1: a rule fails; 2: unusable input.")
    p.add_argument("trace", help="trace file (JSON Lines), or - for standard input")
    p.add_argument("--policy", help="planado, playmaker, or the name of --policy-file's policy (default: meta.policy)")
    p.add_argument("--policy-file", metavar="FILE", help="a YAML file defining your own policy")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a rule parameter (repeatable)")
    p.add_argument("--json", action="store_true", help="print verdicts as one JSON object")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML, one testcase per rule")
    p.set_defaults(func=run)


def resolve_policy(name: str | None, policy_file: str | None, meta: dict | None):
    from bench.rules import PolicyError, get_policy, load_policy_file

    try:
        if policy_file:
            policy = load_policy_file(policy_file)
            if name and name != policy.name:
                raise UsageError(f"--policy {name!r} does not match {policy_file}'s policy {policy.name!r}")
            return policy
        name = name or (meta or {}).get("policy")
        if not name:
            raise UsageError("no policy: give --policy or --policy-file (the trace's meta names none)")
        return get_policy(name)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    import time

    import orjson

    from bench.rules import Checker, PolicyError, parse_param
    from bench.rules.junit import junit_xml
    from bench.rules.render import as_json, table
    from bench.trace import TraceError, TraceReader

    try:
        overrides = dict(parse_param(p) for p in args.param)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None
    reader = TraceReader(args.trace)
    started = time.perf_counter()
    events = iter(reader)
    try:
        first = next(events, None)  # reads the meta line too
        policy = resolve_policy(args.policy, args.policy_file, reader.meta)
        try:
            checker = Checker(policy, meta=reader.meta, params=overrides)
        except PolicyError as exc:
            raise UsageError(str(exc)) from None
        if first is not None:
            checker.feed(first)
            checker.feed_all(events)
    except TraceError as exc:
        print(f"syncbench check: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    results = checker.finish()
    elapsed = time.perf_counter() - started
    if args.junit:
        try:
            with open(args.junit, "wb") as fh:
                fh.write(junit_xml(results, suite=f"syncbench.{policy.name}", time_s=elapsed))
        except OSError as exc:
            raise UsageError(f"cannot write {args.junit}: {exc.strerror or exc}") from None
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(as_json(policy.name, results)) + b"\n")
    else:
        print(table(policy.name, results, source=reader.name))
    return EXIT_FAIL if any(r.verdict == "fail" for r in results) else EXIT_OK
