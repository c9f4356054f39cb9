"""``python -m reference_server``: run the server (also behind ``syncbench serve``).

Theory of operation: flags become one :class:`ServerConfig`; the app is
served by uvicorn on a socket we bind ourselves, so ``--port 0`` works and the
real port is printed as one JSON line ``{"ready": true, "url", "port"}`` once
the server accepts connections. Tokens are printed before that line. uvicorn
picks ``httptools``/``uvloop`` when installed and falls back to h11/asyncio.
"""

from __future__ import annotations

import argparse
import gc
import math
import socket
import sqlite3
import sys

import orjson

from reference_server import config as cfg

# uvicorn's own default for keep-alive; long enough for a client's next sync burst.
KEEPALIVE_S = 5
# Queue of not-yet-accepted connections: a fleet of devices connects at once.
BACKLOG = 2048
# Open-files target when the hard limit is unlimited: 4 per device (sync,
# push, file transfer, slack) for a fleet of 16k devices.
FD_LIMIT_CAP = 65536


class ServeError(Exception):
    """The server cannot start (port taken, database or trace not writable): one line."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", default=cfg.DEFAULT_DB,
                        help="SQLite file, :memory:, or a postgresql:// URL (needs the pg extra)"
                             f" (default {cfg.DEFAULT_DB})")
    parser.add_argument("--host", default=cfg.DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=cfg.DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--trace", default=None, help="write server trace events to FILE")
    parser.add_argument("--trace-epoch", type=float, default=None,
                        help="wall-clock seconds of trace t=0 (default: start-up)")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="spec seconds per wall second (default 1)")
    parser.add_argument("--admin-token", default=None,
                        help=f"admin bearer token (default: ${cfg.ADMIN_TOKEN_ENV} or random)")
    parser.add_argument("--files-dir", default=None, help="where files are stored")
    parser.add_argument("--durable", action="store_true",
                        help="fsync every commit (survives power loss, not only kill -9)")
    parser.add_argument("--demo", action="store_true",
                        help="create a dispatcher, workers w1..w3 and jobs; print tokens")
    parser.add_argument("--mutant", default=None, metavar="NAME",
                        help="run a deliberately broken server (reference_server.mutants), "
                             "for the bench's selftest")


def config_from_args(args: argparse.Namespace) -> cfg.ServerConfig:
    # NaN and infinity pass argparse's float(); a NaN epoch once wrote "t": null.
    if not (args.time_scale > 0 and math.isfinite(args.time_scale)):
        raise ValueError(f"--time-scale must be a positive finite number, got {args.time_scale}")
    if args.trace_epoch is not None and not math.isfinite(args.trace_epoch):
        raise ValueError(f"--trace-epoch must be a finite number of seconds, got {args.trace_epoch}")
    return cfg.ServerConfig(db=args.db, files_dir=args.files_dir,
                            admin_token=cfg.admin_token_from_env(args.admin_token),
                            trace=args.trace, trace_epoch=args.trace_epoch,
                            time_scale=args.time_scale, durable=args.durable,
                            mutant=args.mutant)


def bind(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets
    # only when the listening socket says TCP; without it every keep-alive
    # response waits ~40 ms for the client's delayed ACK (Nagle).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def raise_fd_limit() -> None:
    """Lift the soft open-files limit to the hard one: every device of a fleet
    holds a keep-alive connection and a push socket, and the usual soft limit
    (1024) would refuse connections long before the server is busy."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, FD_LIMIT_CAP)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass


def _driver_errors(config: cfg.ServerConfig) -> tuple[type[BaseException], ...]:
    """PostgreSQL's errors, when the database is PostgreSQL; a missing driver is one too."""
    if not config.is_postgres:
        return ()
    try:
        import psycopg
    except ImportError:
        return (ImportError,)
    return (psycopg.Error, ImportError)


def serve(config: cfg.ServerConfig, host: str, port: int, *, demo: bool = False,
          out=None) -> int:
    import uvicorn

    from reference_server.app import create_app
    from reference_server.demo import seed
    from reference_server.state import ServerState

    out = out or sys.stdout
    raise_fd_limit()
    try:
        sock = bind(host, port)
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    real_port = sock.getsockname()[1]
    try:
        state = ServerState(config)
    except (OSError, sqlite3.Error, *_driver_errors(config)) as exc:
        sock.close()
        raise ServeError(f"cannot open the database, files or trace: {exc}") from None
    app = create_app(state=state)
    if config.admin_token is None:
        print(f"admin token: {state.admin_token}", file=out)
    if demo:
        for dev, tok in seed(state).items():
            print(f"token {dev}: {tok}", file=out)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{real_port}"

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            if self.started:
                out.write(orjson.dumps({"ready": True, "url": url, "port": real_port}).decode()
                          + "\n")
                out.flush()

    server = Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                   timeout_keep_alive=KEEPALIVE_S, lifespan="on"))
    # The code and state built so far live as long as the server: out of the
    # collector's sight, a full pass walks only what requests made since
    # (measured: 26,000 objects at start, 2.6 ms a pass with them).
    gc.freeze()
    server.run(sockets=[sock])
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference_server",
                                     description="The syncbench reference sync server.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        return serve(config, args.host, args.port, demo=args.demo)
    except ServeError as exc:
        print(f"python -m reference_server: error: {exc}", file=sys.stderr)
        return 2
