"""``syncbench client``: run one reference device against a sync server.

Theory of operation: a thin adapter. The flags are defined once by
``reference_client.client.cli.add_arguments`` (shared with
``python -m reference_client.client``); a bad value (``ValueError`` from the
client's config or script parser) becomes a :class:`UsageError`: one line,
exit status 2.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from reference_client.client.cli import add_arguments

    parser = subparsers.add_parser(
        "client", help="run one reference device against a server",
        description="Run one reference device (the asyncio client, docs/client.md) against a "
                    "sync server: HTTP and WebSocket, a SQLite store, a device trace.")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench.cli import UsageError
    from reference_client.client.cli import run as run_client

    try:
        return run_client(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
