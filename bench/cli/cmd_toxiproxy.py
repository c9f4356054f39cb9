"""``syncbench toxiproxy serve``: run the bench's Toxiproxy-compatible server standalone."""

from __future__ import annotations

import argparse

from bench.cli import UsageError, seed_arg

# Same defaults as upstream's toxiproxy-server (-host 127.0.0.1 -port 8474).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8474


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("toxiproxy", help="the bench's Toxiproxy-compatible proxy server")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    serve = actions.add_parser("serve", help="serve the Toxiproxy HTTP API until interrupted")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"API address (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help=f"API port, 0 for any free one (default {DEFAULT_PORT})")
    serve.add_argument("--seed", type=seed_arg, default=None,
                       help="seed for jitter and toxicity draws (default: drawn and printed)")
    serve.add_argument("--allow-browsers", action="store_true",
                       help="answer requests whose User-Agent is a browser's (refused with 403 "
                            "by default, as upstream does, so a web page cannot reconfigure "
                            "the proxy)")
    serve.set_defaults(func=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import asyncio
    import gc

    from bench.link.proxy import ProxyServer

    # Checked before binding: a port past 65535 was a traceback from the socket layer.
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")

    async def serve() -> None:
        server = ProxyServer(args.host, args.port, seed=args.seed,
                             allow_browsers=args.allow_browsers)
        try:
            await server.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        print(f"syncbench toxiproxy: API on {server.url} (seed {server.seed})", flush=True)
        # Everything imported and built so far lives as long as the server: out
        # of the collector's sight, its full passes (which stop every stream's
        # pacing) walk only what connections made since.
        gc.freeze()
        try:
            await server.serve_forever()
        finally:
            await server.close()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    return 0
