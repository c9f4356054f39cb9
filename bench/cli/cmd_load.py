"""``syncbench load``: server load with Locust -- a fleet of devices, gates, capacity.

Exit status: 0 when every gate held (or none was set), 1 when a gate failed
(one line on stderr names it), 2 on unusable input. This module never imports
``locust`` (it monkey-patches the standard library on import): it builds the
configuration and calls into ``bench.load`` inside :func:`run`.
"""

from __future__ import annotations

import argparse
import os
import sys

from bench.cli import (
    EXIT_FAIL,
    EXIT_OK,
    UsageError,
    duration_arg,
    positive_arg,
    seed_arg,
    writable_dir,
)

ADMIN_TOKEN_ENV = "SYNCBENCH_ADMIN_TOKEN"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "load", help="load the sync server with a fleet of Locust device users",
        description="Run Locust headless: one user per device driving the reference engine "
                    "against a server (started here when --host is not given), plus a "
                    "dispatcher. Exit 0: every gate held; 1: a gate failed; 2: bad input. "
                    "See docs/load.md.")
    p.add_argument("--devices", type=positive_arg(int), metavar="N", help="fleet size (default 50)")
    p.add_argument("--spawn-rate", type=float, metavar="R", help="users started per second")
    p.add_argument("--duration", type=duration_arg, metavar="D",
                   help="wall time per run: seconds or 15s, 2m, 1h30m (Locust's forms)")
    p.add_argument("--host", metavar="URL", help="server to load (default: start one)")
    p.add_argument("--admin-token", metavar="T",
                   help=f"admin token of --host for provisioning (default ${ADMIN_TOKEN_ENV})")
    p.add_argument("--policy", metavar="NAME", help="device policy (default planado)")
    p.add_argument("--profile", choices=("steady", "storm", "burst"), help="default steady")
    p.add_argument("--workers", type=int, metavar="W",
                   help="Locust distributed mode: a local master and W worker processes")
    p.add_argument("--remote-workers", type=int, metavar="N",
                   help="also wait for N workers started on other machines (needs --host, "
                        "--master-bind and --master-port)")
    p.add_argument("--master-bind", metavar="ADDR",
                   help="address the master listens on for workers (default 127.0.0.1)")
    p.add_argument("--master-port", type=int, metavar="P",
                   help="port the master listens on (default: a free one)")
    p.add_argument("--time-scale", type=float, metavar="K",
                   help="spec seconds per wall second (default 1; 10 runs the 2-minute "
                        "cadence every 12 s)")
    p.add_argument("--seed", type=seed_arg, metavar="S", help="random seed (default 1)")
    p.add_argument("--photo-bytes", type=int, metavar="B", help="bytes per photo (400000)")
    p.add_argument("--no-push-sockets", dest="push_sockets", action="store_false", default=None,
                   help="do not hold a push WebSocket per device; the dispatcher relays pushes "
                        "inside Locust instead")
    p.add_argument("--dispatch-rate", type=float, metavar="OPS",
                   help="dispatcher operations per device per spec hour (default 1)")
    p.add_argument("--out", metavar="DIR", help="report directory "
                   "(default reports/load-<profile>-<ts>/)")
    p.add_argument("--no-report", action="store_true", help="print figures only, write nothing")
    g = p.add_argument_group("gates (exit 1 with a one-line reason when one fails)")
    g.add_argument("--p99-ms", type=float, metavar="MS", help="p99 response time at most MS")
    g.add_argument("--max-fail-ratio", type=float, metavar="F", help="failed/all at most F")
    g.add_argument("--min-rps", type=float, metavar="RPS", help="requests/s at least RPS")
    g.add_argument("--min-sockets", type=float, metavar="F",
                   help="at least this share (0..1) of the fleet held its push socket at once")
    c = p.add_argument_group("capacity search")
    c.add_argument("--find-capacity", action="store_true",
                   help="double the fleet, then bisect, until --p99-ms breaks; report the "
                        "largest fleet that held it")
    c.add_argument("--max-devices", type=positive_arg(int), metavar="N", help="search ceiling (default 20000)")
    c.add_argument("--step-duration", type=duration_arg, metavar="D",
                   help="wall time of each search step: seconds or 15s, 2m (default 20)")
    p.add_argument("--quiet", action="store_true", help="no summary on stdout")
    p.set_defaults(func=run)


def build_config(args: argparse.Namespace):
    """The one place flags become a :class:`bench.load.config.LoadConfig`."""
    from bench.load.config import ConfigError, LoadConfig

    given = {"devices": args.devices, "spawn_rate": args.spawn_rate,
             "duration_s": args.duration, "host": (args.host or "").rstrip("/"),
             "policy": args.policy, "profile": args.profile, "workers": args.workers,
             "time_scale": args.time_scale, "seed": args.seed, "photo_bytes": args.photo_bytes,
             "dispatch_per_device_h": args.dispatch_rate,
             "remote_workers": args.remote_workers, "master_bind": args.master_bind,
             "master_port": args.master_port, "push_sockets": args.push_sockets}
    if args.host and not args.host.startswith(("http://", "https://")):
        raise UsageError(f"--host must be an http:// or https:// URL, got {args.host!r}")
    try:
        return LoadConfig(**{k: v for k, v in given.items() if v is not None})
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def build_gates(args: argparse.Namespace):
    from bench.load.gates import Gates

    try:
        return Gates(p99_ms=args.p99_ms, max_fail_ratio=args.max_fail_ratio, min_rps=args.min_rps,
                     min_sockets=args.min_sockets)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:

    cfg = build_config(args)
    gates = build_gates(args)
    admin = args.admin_token or os.environ.get(ADMIN_TOKEN_ENV)
    if args.find_capacity:
        if gates.p99_ms is None:
            raise UsageError("--find-capacity needs --p99-ms (the gate the fleet must hold)")
        from bench.load.capacity import DEFAULT_STEP_S, MAX_DEVICES, find_capacity
        from bench.load.config import MAX_DEVICES as LIMIT

        if args.max_devices and args.max_devices > LIMIT:
            raise UsageError(f"--max-devices {args.max_devices:,} is over the limit of {LIMIT:,}")

        out = None if args.no_report else writable_dir(args.out or _default_out("capacity"), "--out")
        try:
            res = find_capacity(cfg, gates=gates, admin_token=admin, out=out,
                                max_devices=args.max_devices or MAX_DEVICES,
                                step_s=args.step_duration or DEFAULT_STEP_S,
                                log=None if args.quiet else sys.stderr)
        except (RuntimeError, OSError) as exc:
            raise UsageError(str(exc).splitlines()[0]) from None
        if not args.quiet:
            print(res.line())
        return EXIT_OK if res.devices else EXIT_FAIL
    from bench.load.main import run_load

    out = None if args.no_report else writable_dir(args.out or _default_out(cfg.profile), "--out")
    try:
        res = run_load(cfg, gates=gates, out=out, admin_token=admin, report=out is not None)
    except (RuntimeError, OSError) as exc:
        raise UsageError(str(exc).splitlines()[0]) from None
    if not args.quiet:
        s = res.data["summary"]
        print(f"load {cfg.profile}: {cfg.devices} devices x{cfg.time_scale:g}, "
              f"{s['requests']} requests ({s['syncs']} syncs), {s['rps']:.1f} req/s, "
              f"p50 {s['p50_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms, "
              f"failures {s['failures']} ({s['fail_ratio']:.2%})"
              + (f"; report {out}/index.html" if out else ""))
    if res.reason:
        print(f"syncbench load: {res.reason}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def _default_out(profile: str) -> str:
    import time

    return f"reports/load-{profile}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
