"""One proxy: a listener, its open connections, and its toxics.

Theory of operation
-------------------
A :class:`Proxy` listens on ``listen`` and, for each accepted client, opens a
:class:`~bench.link.proxy.link.Connection` to ``upstream``. Its toxics live in
an insertion-ordered dict (creation order is the order chunks go through them,
per stream); every change is pushed at once to every open connection, so a
toxic "applies to open connections at once".

Disabling closes the listener (new connections are refused by the kernel) and
cuts every open connection; the toxics are kept. Enabling binds the address
the proxy last had, so a proxy created on port 0 keeps its port.

Randomness: each stream of each connection draws from its own
``random.Random`` seeded with ``"<seed>/<proxy>/<connection number>/<stream>"``,
so jitter and toxicity repeat run after run whatever the interleaving of
connections (upstream's ``-seed`` flag has no effect; ours does).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import re
import socket
from typing import Any

from bench.link.proxy.errors import ApiError, bad_body
from bench.link.proxy.link import Connection
from bench.link.proxy.stream import Counter
from bench.link.proxy.toxics import Settings, Toxic

STREAMS = ("upstream", "downstream")
# Pending-connection queue of a listener. Go's net.Listen uses the kernel's
# somaxconn; 1024 covers the benchmark's 500 simultaneous connects.
LISTEN_BACKLOG = 1024


# A DNS label (RFC 1035 and Docker-style "_"): the resolver refuses longer ones
# with an exception, which once dropped the API connection without an answer.
_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_PORT = re.compile(r"[0-9]{1,5}")
MAX_HOST = 253


def split_hostport(address: str, what: str) -> tuple[str, int]:
    """``"host:port"`` (``"[v6]:port"``, ``":port"``) → (host, port); 400 when malformed.

    ASCII digits only: ``"²".isdigit()`` is true and ``int()`` of 5,000 digits
    raises, and both once dropped the connection instead of answering 400.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not _PORT.fullmatch(port) or int(port) > 65535:
        raise bad_body(f"{what} must be host:port with a port 0..65535, got {_short(address)}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise bad_body(f"{what}: {_short(host)} is not an IPv6 address") from None
    elif host and not _valid_host(host):
        raise bad_body(f"{what}: {_short(host)} is not a host name or IP address "
                       f"(labels of 1..63 letters, digits, '-' or '_'; {MAX_HOST} characters in all)")
    return host, int(port)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    return len(host) <= MAX_HOST and all(_LABEL.fullmatch(x) for x in host.removesuffix(".").split("."))


def _short(text: str, limit: int = 80) -> str:
    """``repr`` of a value cut to ``limit`` characters, for one-line messages."""
    r = repr(text)
    return r if len(r) <= limit else f"{r[:limit]}... ({len(text)} characters)"


def join_hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Proxy:
    """A listening proxy with its toxics and connections (lives on one event loop)."""

    def __init__(self, *, name: str, listen: str, upstream: str, seed: int) -> None:
        split_hostport(listen, "listen")
        split_hostport(upstream, "upstream")
        self.name = name
        self.requested_listen = listen
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: dict[str, Toxic] = {}
        self.connections: set[Connection] = set()
        self.counters = {s: Counter() for s in STREAMS}
        self.accepted = 0
        self._seed_key = f"{seed}/{name}"
        self._server: asyncio.base_events.Server | None = None

    # -- JSON ------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.toxic_list()],
        }

    def toxic_list(self) -> list[Toxic]:
        """Upstream's listing order: the upstream stream's toxics, then downstream's,
        each in creation order (ToxicCollection walks its chains by direction)."""
        return sorted(self.toxics.values(), key=lambda t: STREAMS.index(t.stream))

    # -- listener ----------------------------------------------------------------
    async def start(self) -> None:
        if self.enabled:
            return
        sock = _bind(self.listen)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accept, sock=sock)
        host, port = sock.getsockname()[:2]
        self.listen = join_hostport(host, port)
        self.enabled = True

    async def stop(self) -> None:
        """Stop listening and cut every open connection; toxics stay."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.cut()
        self.enabled = False

    def _accept(self) -> Any:
        self.accepted += 1
        conn = Connection(self, self.accepted)
        self.connections.add(conn)
        return conn.client

    def connection_closed(self, conn: Connection) -> None:
        self.connections.discard(conn)

    def upstream_address(self) -> tuple[str, int]:
        return split_hostport(self.upstream, "upstream")

    def stream_rng(self, number: int, stream: str) -> random.Random:
        return random.Random(f"{self._seed_key}/{number}/{stream}")

    async def update(self, *, listen: str | None, upstream: str | None,
                     enabled: bool | None) -> None:
        """Apply a POST/PATCH /proxies/{p}: a new address restarts the listener."""
        if listen is not None:
            split_hostport(listen, "listen")
        if upstream is not None:
            split_hostport(upstream, "upstream")
        moved = (listen is not None and listen not in (self.listen, self.requested_listen)) or (
            upstream is not None and upstream != self.upstream)
        want = self.enabled if enabled is None else enabled
        if moved or not want:
            await self.stop()
        if listen is not None and listen != self.listen:
            self.requested_listen = self.listen = listen
        if upstream is not None:
            self.upstream = upstream
        if want:
            await self.start()

    # -- toxics --------------------------------------------------------------------
    def add_toxic(self, toxic: Toxic) -> None:
        if toxic.name in self.toxics:
            raise ApiError(409, "toxic already exists")
        self.toxics[toxic.name] = toxic
        for conn in list(self.connections):
            conn.streams[toxic.stream].attach(toxic)

    def update_toxic(self, toxic: Toxic, settings: Settings, toxicity: float | None) -> None:
        old = toxic.settings
        toxic.settings = settings
        changed = toxicity is not None and toxicity != toxic.toxicity
        if toxicity is not None:
            toxic.toxicity = toxicity
        for conn in list(self.connections):
            conn.streams[toxic.stream].update(toxic, old, changed)

    def remove_toxic(self, toxic: Toxic) -> None:
        del self.toxics[toxic.name]
        for conn in list(self.connections):
            conn.streams[toxic.stream].detach(toxic)

    def remove_all_toxics(self) -> None:
        for toxic in list(self.toxics.values()):
            self.remove_toxic(toxic)


def _bind(listen: str) -> socket.socket:
    """A listening socket on exactly one address (``localhost`` must not open two)."""
    host, port = split_hostport(listen, "listen")
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ApiError(500, f"listen tcp {listen}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(LISTEN_BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        # Upstream answers 500 with Go's bind error text.
        raise ApiError(500, f"listen tcp {listen}: bind: {(exc.strerror or str(exc)).lower()}") from None
    return sock
