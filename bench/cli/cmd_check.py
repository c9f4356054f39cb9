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
    p.add_argument("--merge", action="append", default=[], metavar="SERVER_TRACE",
                   help="merge a server's own trace onto the run's clock (repeatable); epoch "
                        "timestamps are rebased on the run's meta epoch and time_scale")
    p.add_argument("--offset", type=float, default=0.0, metavar="S",
                   help="spec seconds added to every merged event's t (after any rebase)")
    p.add_argument("--skew", type=float, default=0.0, metavar="S",
                   help="clock skew to tolerate between the server and the devices, in wall "
                        "seconds: widens push_deliver_s and scope_slack_s by S x time_scale")
    p.set_defaults(func=run)


# A t above this is a wall-clock epoch, not seconds since the start of a run
# (2001-09-09 in seconds; above 1e12, milliseconds).
EPOCH_S = 1e9
EPOCH_MS = 1e12


def merged_stream(path: str, meta: dict, offset: float):
    """The events of a server's own trace, on the run's clock (``check --merge``).

    A ``t`` past :data:`EPOCH_S` is a wall-clock timestamp (milliseconds past
    :data:`EPOCH_MS`): it is rebased on the run's meta ``epoch`` (the wall second
    of t = 0) and ``time_scale`` -- ``(t - epoch) * K`` -- which needs the meta to
    have an ``epoch``. ``offset`` is added last. Meta lines of the merged file
    are dropped; the run's own meta rules the check."""
    import math

    from bench.trace import TraceReader

    epoch = meta.get("epoch")
    k = meta.get("time_scale") or 1.0
    if not (math.isfinite(offset)):
        raise UsageError(f"--offset must be a finite number of seconds, got {offset}")
    for ev in TraceReader(path, rebase_epoch=False):
        if ev.get("ev") == "meta":
            continue
        t = ev["t"]
        if t > EPOCH_S:
            if epoch is None:
                raise UsageError(f"{path}: its times are wall-clock timestamps, but the run's "
                                 f"meta has no epoch to rebase them on (use --offset)")
            t = ((t / 1000.0 if t > EPOCH_MS else t) - epoch) * k
        ev["t"] = round(t + offset, 6)
        yield ev


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
    import itertools
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
    if not (0 <= args.skew < 3600):
        raise UsageError(f"--skew must be in [0, 3600) wall seconds, got {args.skew}")
    if args.merge and args.trace == "-":
        raise UsageError("--merge needs the run's trace as a file, not standard input")
    reader = TraceReader(args.trace)
    started = time.perf_counter()
    events = iter(reader)
    try:
        first = next(events, None)  # reads the meta line too
        policy = resolve_policy(args.policy, args.policy_file, reader.meta)
        if args.merge:
            from bench.trace.writer import merge

            meta = reader.meta or {}
            rest = merge(itertools.chain([first] if first is not None else [], events),
                         *(merged_stream(m, meta, args.offset) for m in args.merge))
            first = next(rest, None)
            events = rest
        if args.skew:
            k = (reader.meta or {}).get("time_scale") or 1.0
            values = policy.resolve_params(meta_params=(reader.meta or {}).get("params"),
                                           overrides=overrides)
            for name in ("push_deliver_s", "scope_slack_s"):
                if name in values:
                    overrides[name] = values[name] + args.skew * k
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
    for note in reader.notices[:20]:
        print(f"syncbench check: notice: {reader.name}: {note}", file=sys.stderr)
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
    if results and all(r.verdict == "n/a" for r in results):
        # "n/a is never a way to hide a failure": a trace no rule can judge is
        # an export that lacks what the rules read, not a pass.
        kinds = ", ".join(sorted(checker.kinds)) or "none the rules know"
        print(f"syncbench check: error: {reader.name}: nothing to judge: every rule of policy "
              f"{policy.name} is n/a (event kinds: {kinds}); docs/checking.md lists what each "
              f"rule needs", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FAIL if any(r.verdict == "fail" for r in results) else EXIT_OK
