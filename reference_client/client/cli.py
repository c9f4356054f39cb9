"""Command line of one real device: ``python -m reference_client.client`` and
``syncbench client`` (which reuses :func:`add_arguments` and :func:`run`).

Theory of operation: flags become one :class:`ClientConfig` in
:func:`config_from_args` (STYLE.md "Configuration enters once"); a bad value
is a ``ValueError`` whose one-line message the caller prints with exit status
2. Without ``--script`` the device reports ``--link`` and opens the app, then
runs until SIGTERM/SIGINT; with ``--script FILE`` (validated whole before the
device starts) or ``--script -`` (JSON lines read from stdin as they come) it
plays the runner's actions (see ``script.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from reference_client.client.config import (
    DEFAULT_LINK,
    DEFAULT_SEED,
    DEFAULT_TIME_SCALE,
    LINK_CLASSES,
    POLICY_NAMES,
    ClientConfig,
)

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", required=True, help="base URL of the sync server (or its link proxy)")
    p.add_argument("--token", required=True, help="the device's bearer token")
    p.add_argument("--device", required=True, help="the device id")
    p.add_argument("--policy", choices=POLICY_NAMES, default="planado")
    p.add_argument("--store", required=True, type=Path, help="directory of the local store")
    p.add_argument("--trace", type=Path, help="append device events to this JSONL file")
    p.add_argument("--time-scale", type=float, default=DEFAULT_TIME_SCALE, metavar="K",
                   help="spec seconds per wall second (default 1)")
    p.add_argument("--trace-epoch", type=float, metavar="S",
                   help="wall-clock seconds of t = 0 (default: kept in the store, first start)")
    p.add_argument("--mutant", help="run a deliberately broken policy (reference_client.mutants)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--measure-link", action="store_true",
                   help="treat Wi-Fi measured below 550 kbps as a slow link")
    p.add_argument("--no-push", dest="push", action="store_false",
                   help="notifications off: never open the push WebSocket")
    p.add_argument("--script", help="JSON-lines actions: a FILE, or - for stdin")
    p.add_argument("--link", choices=sorted(LINK_CLASSES), default=DEFAULT_LINK,
                   help="link class reported at start when no --script is given")


def config_from_args(args: argparse.Namespace) -> ClientConfig:
    return ClientConfig(server=args.server, token=args.token, device=args.device,
                        policy=args.policy, store=args.store, trace=args.trace,
                        time_scale=args.time_scale, trace_epoch=args.trace_epoch,
                        mutant=args.mutant, seed=args.seed, measure_link=args.measure_link,
                        push=args.push)


async def _stdin_lines() -> AsyncIterator[bytes]:
    """Lines of stdin as they arrive (a pipe), or all at once (a regular file)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    except (ValueError, OSError):  # a regular file cannot be watched; read it whole
        for line in sys.stdin.buffer:
            yield line
        return
    try:
        while line := await reader.readline():
            yield line
    finally:
        transport.close()


def _default_script(link: str) -> list:
    from reference_client.client.script import parse_action

    return [parse_action({"do": "link", "class": link}), parse_action({"do": "app",
                                                                       "state": "opened"})]


def run(args: argparse.Namespace) -> int:
    """Run one device from parsed flags; ``ValueError`` for a usage error."""
    config = config_from_args(args)
    from reference_client.client.app import resolve_policy
    from reference_client.client.script import load_script, run_device

    resolve_policy(config)  # an unknown mutant is a usage error, before anything starts
    if args.script is None:
        script: object = _default_script(args.link)
    elif args.script == "-":
        script = None
    else:
        script = load_script(Path(args.script))

    async def main() -> None:
        await run_device(config, _stdin_lines() if script is None else script,
                         handle_signals=True)

    asyncio.run(main())
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_client.client",
                                     description="Run one reference device against a server.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:
        print(f"reference_client: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
