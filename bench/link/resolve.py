"""Which Toxiproxy server the bench talks to.

spec/toxiproxy.md: the bench "uses a real toxiproxy-server whenever one is on
PATH or a URL is given (env TOXIPROXY_URL)", and otherwise starts its own.
:func:`resolve_toxiproxy` is a context manager yielding an
:class:`Endpoint` (``url`` and ``kind``) and stopping whatever it started::

    with resolve_toxiproxy(seed=7) as endpoint:
        client = LinkClient(endpoint.url)

Order: ``TOXIPROXY_URL`` (used as is, nothing started) → ``toxiproxy-server``
on PATH (started on a free loopback port, stopped at exit) → the bench's own
server in a thread. Only the bench's own server honours ``seed``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping

from bench.link.proxy import ProxyServerThread

ENV_URL = "TOXIPROXY_URL"
BINARY = "toxiproxy-server"
# How long a started toxiproxy-server may take to answer (it starts in ms).
STARTUP_TIMEOUT_S = 10.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    url: str
    kind: str  # "env" | "binary" | "builtin"
    seed: int | None = None  # the seed in force (builtin server only)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_ready(port: int, proc: subprocess.Popen, deadline: float) -> None:
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{BINARY} exited with status {proc.returncode} at start") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{BINARY} did not listen on 127.0.0.1:{port} "
                                   f"within {STARTUP_TIMEOUT_S:g} s") from None
            time.sleep(0.02)


@contextlib.contextmanager
def resolve_toxiproxy(*, seed: int | None = None, env: Mapping[str, str] | None = None,
                      which=shutil.which) -> Iterator[Endpoint]:
    """Yield the Toxiproxy server to use, starting one if needed (see module doc)."""
    env = os.environ if env is None else env
    url = env.get(ENV_URL)
    if url:
        yield Endpoint(url=url.rstrip("/"), kind="env")
        return
    binary = which(BINARY)
    if binary:
        port = _free_port()
        proc = subprocess.Popen([binary, "-host", "127.0.0.1", "-port", str(port)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_ready(port, proc, time.monotonic() + STARTUP_TIMEOUT_S)
            yield Endpoint(url=f"http://127.0.0.1:{port}", kind="binary")
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        return
    with ProxyServerThread(seed=seed) as srv:
        yield Endpoint(url=srv.url, kind="builtin", seed=srv.seed)
