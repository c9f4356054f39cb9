"""``syncbench serve``: run the reference sync server.

Theory of operation: a thin adapter. The flags are defined by
``reference_server.cli.add_arguments`` (one place for both this command and
``python -m reference_server``); this module turns a bad flag value into a
:class:`UsageError` and hands over to ``reference_server.cli.serve``.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from reference_server.cli import add_arguments

    parser = subparsers.add_parser(
        "serve", help="run the reference sync server",
        description="Run the reference sync server (protocol: docs/protocol.md).")
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench.cli import UsageError
    from reference_server.cli import ServeError, config_from_args, serve

    try:
        config = config_from_args(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    try:
        return serve(config, args.host, args.port, demo=args.demo)
    except ServeError as exc:
        raise UsageError(str(exc)) from None
