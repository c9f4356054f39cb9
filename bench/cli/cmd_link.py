"""``syncbench link``: the link profiles table and mobility timelines."""

from __future__ import annotations

import argparse

from bench.cli import UsageError, positive_arg, seed_arg


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("link", help="link profiles and mobility timelines")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    profiles = actions.add_parser("profiles", help="print the link profiles table")
    profiles.add_argument("--json", action="store_true", help="print JSON instead of a table")
    profiles.set_defaults(func=run_profiles)
    mob = actions.add_parser("mobility", help="draw a timeline from a mobility preset")
    mob.add_argument("preset", help="urban, suburban, rural or underground")
    mob.add_argument("--seed", type=seed_arg, required=True, help="seed of the draw")
    mob.add_argument("--hours", type=positive_arg(float), default=8.0, help="length in spec hours (default 8)")
    mob.add_argument("--time-scale", type=float, default=None, metavar="K",
                     help="also check that every profile can run at time scale K")
    mob.add_argument("--json", action="store_true", help="print JSON instead of lines")
    mob.set_defaults(func=run_mobility)
    apply = actions.add_parser("apply", help="put a proxy of a Toxiproxy server on a link profile")
    apply.add_argument("proxy", help="proxy name")
    apply.add_argument("profile", help="link profile name (see `syncbench link profiles`)")
    apply.add_argument("--url", default=None,
                       help="Toxiproxy API (default: $TOXIPROXY_URL, else http://127.0.0.1:8474)")
    apply.add_argument("--time-scale", type=float, default=1.0, metavar="K",
                       help="divide latency and multiply bandwidth by K (default 1)")
    apply.set_defaults(func=run_apply)


def run_profiles(args: argparse.Namespace) -> int:
    import json

    from bench.link.profiles import profiles, text_table
    from bench.link.timescale import max_time_scale

    if args.json:
        out = {}
        for name, p in profiles().items():
            out[name] = {
                "class": p.link_class, "slow": p.slow, "slow_by_throughput": p.slow_by_throughput,
                "mode": p.mode, "down_kbps": p.down_kbps, "up_kbps": p.up_kbps, "rtt_ms": p.rtt_ms,
                "jitter_ms": p.jitter_ms, "loss_pct": p.loss_pct, "reset_toxicity": p.reset_toxicity,
                "reset_after_ms": p.reset_after_ms, "faults": p.faults, "source": p.source,
                "max_time_scale": None if max_time_scale(p) == float("inf") else max_time_scale(p),
            }
        print(json.dumps(out, indent=2))
    else:
        print(text_table(), end="")
    return 0


def run_mobility(args: argparse.Namespace) -> int:
    import json
    import random

    from bench.link.mobility import TimelineError, get_model
    from bench.link.timescale import TimeScaleError, check_time_scale

    try:
        model = get_model(args.preset)
        if args.time_scale is not None:
            for name in model.profiles:
                check_time_scale(name, args.time_scale)
    except (TimelineError, TimeScaleError) as exc:
        raise UsageError(str(exc)) from None
    from bench.scenario.limits import MAX_DURATION_S

    # "link mobility --hours 1e9 ran until memory ran out": bounded as a run is.
    if args.hours * 3600 > MAX_DURATION_S:
        raise UsageError(f"--hours {args.hours:g} is over the limit of {MAX_DURATION_S / 3600:g} h")
    steps = model.steps(random.Random(args.seed), args.hours * 3600)
    if args.json:
        print(json.dumps([{"t": round(s.t, 3), "profile": s.profile} for s in steps]))
    else:
        for s in steps:
            print(f"{s.t:10.1f}  {s.profile}")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    import os

    from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

    from bench.link.client import DEFAULT_URL, LinkClient, ToxiproxyServerError
    from bench.link.profiles import ProfileError
    from bench.link.resolve import ENV_URL
    from bench.link.timescale import TimeScaleError

    url = args.url or os.environ.get(ENV_URL) or DEFAULT_URL
    try:
        with LinkClient(url) as client:
            profile = client.apply_profile(args.proxy, args.profile, args.time_scale)
    except (ProfileError, TimeScaleError, ToxiproxyServerError) as exc:
        raise UsageError(str(exc)) from None
    except (NotFound, InvalidToxic, ProxyExists) as exc:
        raise UsageError(f"{url}: proxy {args.proxy!r}: {exc}") from None
    print(f"{args.proxy}: {profile.name} ({profile.link_class}) at K={args.time_scale:g}")
    return 0
