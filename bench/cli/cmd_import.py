"""``syncbench import har FILE``: a HAR export (Charles, Proxyman, mitmproxy, devtools)
or a capture's ``flows.jsonl`` turned into a trace by a mapping (docs/own-app.md).

Theory of operation: the same translator as the live capture
(:mod:`bench.capture.translate`) over the same entries, so a HAR of a capture
gives the capture's verdicts. The epoch (t = 0) is ``--epoch`` or the first
request; the link class, when the HAR was recorded on a shaped link, comes
from ``--link-timeline`` or ``--link``, or from a capture's ``links.jsonl``
(``--links``). ``--check`` judges the trace at once (exit as `check`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.cli import EXIT_OK, UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="turn a HAR export into a trace (import har FILE)",
                       description="Turn recorded traffic into a syncbench.trace/1 file.")
    p.add_argument("format", choices=("har",), help="what FILE is (har: a HAR file or flows.jsonl)")
    p.add_argument("file", type=Path)
    p.add_argument("--map", default="syncbench", metavar="APP_YAML",
                   help="the mapping file (default: the bench's own protocol)")
    p.add_argument("--out", "-o", type=Path, help="the trace to write (default: standard output)")
    p.add_argument("--policy", default="planado")
    link = p.add_mutually_exclusive_group()
    link.add_argument("--link-timeline", metavar="FILE", help="link steps [{t, profile}] (spec seconds)")
    link.add_argument("--link", metavar="PROFILE", help="one link profile for the whole recording")
    link.add_argument("--links", type=Path, metavar="LINKS_JSONL", help="a capture's links.jsonl")
    p.add_argument("--epoch", type=float, metavar="UNIX_S", help="t = 0 (default: the first request)")
    p.add_argument("--time-scale", type=float, default=1.0, metavar="K")
    p.add_argument("--device", help="the device id, when the mapping cannot tell")
    p.add_argument("--app-log", type=Path, metavar="FILE", help="the app's event log (JSONL or CSV)")
    p.add_argument("--app-log-offset", type=float, default=0.0, metavar="S")
    p.add_argument("--settled", action="store_true",
                   help="the recording ended with a settle window (rules of eventual delivery apply)")
    p.add_argument("--check", action="store_true", help="check the trace and exit as `check` does")
    p.set_defaults(func=run)


def _links(args: argparse.Namespace) -> dict | None:
    from bench.capture.run import load_timeline
    from bench.link.profiles import get_profile

    if args.links:
        steps = []
        try:
            text = args.links.read_text()
        except OSError as exc:
            raise UsageError(f"--links {args.links}: cannot read ({exc.strerror or exc})") from None
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                steps.append((float(row["t"]), str(row["class"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise UsageError(f"--links {args.links}: line {n}: {exc}") from None
        return {None: steps}
    if args.link_timeline:
        return {None: [(s.t, get_profile(s.profile).link_class)
                       for s in load_timeline(args.link_timeline)]}
    if args.link:
        return {None: [(0.0, get_profile(args.link).link_class)]}
    return None


def run(args: argparse.Namespace) -> int:
    from bench.capture.applog import AppLogError, read_app_log
    from bench.capture.har import HarError, read_exchanges
    from bench.capture.mapping import MappingError, load_mapping
    from bench.capture.translate import build_trace
    from bench.link.profiles import ProfileError
    from bench.trace.writer import TraceWriter

    if not (0 < args.time_scale <= 600):
        raise UsageError(f"--time-scale must be in (0, 600], got {args.time_scale:g}")
    try:
        mapping = load_mapping(args.map)
        xs = read_exchanges(args.file)
        links = _links(args)
        epoch = args.epoch if args.epoch is not None else (xs[0].t0 if xs else 0.0)
        app_log = None
        if args.app_log:
            app_log = read_app_log(args.app_log, epoch=epoch, k=args.time_scale,
                                   offset_s=args.app_log_offset, device=args.device)
    except (MappingError, HarError, AppLogError, ProfileError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    if not xs:
        raise UsageError(f"{args.file}: no entries")
    events = build_trace(xs, mapping, policy=args.policy, epoch=epoch, k=args.time_scale,
                         device=args.device, links=links, app_log=app_log, settled=args.settled)
    cap = events[0]["capture"]
    print(f"syncbench import: {args.file}: {len(xs)} entries, {len(cap['devices'])} devices, "
          f"{len(events) - 1} events ({cap['ignored']} requests the mapping does not name, "
          f"{cap['unattributed']} with no device)", file=sys.stderr)
    if args.out is None and args.check:
        raise UsageError("--check needs --out FILE")
    with TraceWriter(args.out if args.out is not None else sys.stdout.buffer) as w:
        w.write_all(events)
    if args.check:
        from bench.capture.run import check_and_report

        return check_and_report(args.out, args.policy, args.out.parent / f"{args.out.stem}-report",
                                echo=lambda *a: print(*a, file=sys.stderr))
    return EXIT_OK
