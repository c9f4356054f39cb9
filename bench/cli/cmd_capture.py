"""``syncbench capture``: a recording, shaping proxy in front of an app (docs/own-app.md).

Theory of operation: flags become one :class:`bench.capture.run.CaptureConfig`,
validated whole (the mapping file, the link timeline, the app log, the output
folder) before any socket opens; a bad value is a :class:`UsageError`.
mitmproxy is imported only when the capture starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.cli import UsageError, writable_dir


def _address(text: str, flag: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(f"{flag} {text!r}: give HOST:PORT")
    return host or "127.0.0.1", int(port)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "capture", help="put an app behind a shaped, recording proxy and judge its traffic",
        description="Run a capture proxy (mitmproxy) in front of an app: its traffic crosses a "
                    "link shaped by a timeline, is recorded (flows.jsonl, capture.har), turned "
                    "into a trace by a mapping (trace.jsonl) and checked at the end (report/). "
                    "Ctrl-C ends it. Exit 0/1/2 as `syncbench check`.")
    p.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT",
                   help="where the app connects (default 127.0.0.1:8080)")
    p.add_argument("--upstream", metavar="URL", help="the app's server (reverse mode: required)")
    p.add_argument("--mode", choices=("reverse", "regular"), default="reverse",
                   help="reverse: the app is pointed at --listen; regular: --listen is the "
                        "phone's HTTP(S) proxy setting (default reverse)")
    p.add_argument("--map", default="syncbench", metavar="APP_YAML",
                   help="the mapping file (default: the bench's own protocol)")
    link = p.add_mutually_exclusive_group()
    link.add_argument("--link-timeline", metavar="FILE", help="link steps [{t, profile}] (spec seconds)")
    link.add_argument("--link", metavar="PROFILE", help="one link profile for the whole capture")
    p.add_argument("--time-scale", type=float, default=1.0, metavar="K",
                   help="spec seconds per wall second (1 for a real app; default 1)")
    p.add_argument("--out", default="capture", help="output folder (default ./capture)")
    p.add_argument("--policy", default="planado", help="the rules to check (default planado)")
    p.add_argument("--device", help="the device id, when the mapping cannot tell (one phone)")
    p.add_argument("--app-log", type=Path, metavar="FILE", help="the app's event log (JSONL or CSV)")
    p.add_argument("--app-log-offset", type=float, default=0.0, metavar="S",
                   help="seconds added to the app log's times (the phone's clock vs this one)")
    p.add_argument("--duration", type=float, metavar="S", help="stop after S spec seconds")
    p.add_argument("--confdir", help="mitmproxy's folder, its CA among it (default ~/.mitmproxy)")
    p.add_argument("--insecure-upstream", action="store_true",
                   help="do not verify the upstream's TLS certificate (a staging server)")
    p.add_argument("--route", action="append", default=[], metavar="VIA",
                   help=argparse.SUPPRESS)  # the real runner: record only, through VIA's link
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="write the trace and HAR only")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench.capture.mapping import MappingError, load_mapping
    from bench.capture.run import CaptureConfig, load_timeline, run_capture
    from bench.link.mobility import Step
    from bench.link.profiles import ProfileError, get_profile

    try:
        mapping = load_mapping(args.map)
    except MappingError as exc:
        raise UsageError(str(exc)) from None
    steps: tuple = ()
    try:
        if args.link_timeline:
            steps = load_timeline(args.link_timeline)
        elif args.link:
            get_profile(args.link)
            steps = (Step(t=0, profile=args.link),)
    except (ValueError, ProfileError) as exc:
        raise UsageError(str(exc)) from None
    out = writable_dir(args.out, "--out")
    cfg = CaptureConfig(listen=_address(args.listen, "--listen"), upstream=args.upstream,
                        mode=args.mode, mapping=mapping, steps=steps, time_scale=args.time_scale,
                        out=out, policy=args.policy, device=args.device, app_log=args.app_log,
                        app_log_offset_s=args.app_log_offset, duration_s=args.duration,
                        confdir=args.confdir, insecure_upstream=args.insecure_upstream,
                        vias=[_address(v, "--route") for v in args.route], check=args.check,
                        quiet=args.quiet)
    from bench.rules import PolicyError, get_policy

    try:
        get_policy(args.policy)
        cfg.validate()
    except (ValueError, PolicyError) as exc:
        raise UsageError(str(exc)) from None
    from bench.capture.errors import CaptureError

    try:
        return run_capture(cfg)
    except CaptureError as exc:
        raise UsageError(str(exc)) from None
