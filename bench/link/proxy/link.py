"""The data path: one accepted connection, its two streams and their toxics.

Theory of operation
-------------------
A connection is two sockets (the client's and the upstream's) and two streams
between them: *upstream* (client → server) and *downstream* (server → client).
Everything is an asyncio protocol callback; there is no task per chunk and no
task per stream::

    client socket ─read─► Stream "upstream"   ─write─► upstream socket
    client socket ◄write─ Stream "downstream" ◄─read─ upstream socket

    Stream.feed(bytes)
      │ no toxic applies and nothing queued ─────────► dst.write(bytes)  (fast path)
      ▼
    Chunk(bytes, ready_at=now) ─► toxic states in creation order ─► FIFO queue
                                                                      │ timer at head.ready_at
                                                                      ▼
                                                               dst.write / close

Flow control has one mechanism: the source socket stops being read while any
reason holds (the destination's buffer is full; the toxic queue is too long;
a slow toxic asked to hold until a time; the stream has ended). So a slow link
pushes back on the sender instead of buffering without bound.

"End of stream on either side closes the whole connection (no half-close)":
an EOF goes through the toxics like data (slow_close delays it) and, when it
leaves the queue, both sockets close. A lost socket closes the other at once.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from typing import Protocol

from bench.link.proxy.stream import Counter, Stream
from bench.link.proxy.toxics import Toxic


class Owner(Protocol):
    """What a connection needs of the proxy that accepted it (``proxy.Proxy``)."""

    counters: dict[str, Counter]
    toxics: dict[str, Toxic]

    def stream_rng(self, number: int, stream: str) -> random.Random: ...

    def upstream_address(self) -> tuple[str, int]: ...

    def connection_closed(self, conn: Connection) -> None: ...

_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST


class _Side(asyncio.Protocol):
    """One socket of a connection. Reads feed ``out``; ``into`` writes to it.

    A plain protocol, not a buffered one: the transport's ``recv`` returns a
    fresh ``bytes`` that is written on as is, so a forwarded byte is copied
    twice (into the proxy, out of it), never three times.
    """

    __slots__ = ("conn", "transport", "out", "into")

    def __init__(self, conn: Connection, out: Stream, into: Stream) -> None:
        self.conn = conn
        self.out = out
        self.into = into
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.out.src = transport  # type: ignore[assignment]
        self.into.dst = transport  # type: ignore[assignment]
        if self.out.paused:
            transport.pause_reading()  # type: ignore[attr-defined]
        if self is self.conn.client:
            self.conn.accepted()

    def data_received(self, data: bytes) -> None:
        self.out.feed(data)

    def eof_received(self) -> bool:
        self.out.feed_eof()
        return True  # the connection closes when the EOF leaves the toxics

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.close()

    def pause_writing(self) -> None:
        self.into.dst_full()

    def resume_writing(self) -> None:
        self.into.dst_drained()


class Connection:
    """A client connection and its upstream connection, joined by two streams."""

    def __init__(self, proxy: Owner, number: int) -> None:
        self.proxy = proxy
        self.number = number
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.streams = {
            name: Stream(self, name, proxy.counters[name], proxy.stream_rng(number, name))
            for name in ("upstream", "downstream")
        }
        up, down = self.streams["upstream"], self.streams["downstream"]
        self.client = _Side(self, out=up, into=down)
        self.server = _Side(self, out=down, into=up)
        self.dial_task: asyncio.Task | None = None
        for toxic in proxy.toxics.values():
            self.streams[toxic.stream].attach(toxic)

    def client_protocol(self) -> _Side:
        return self.client

    def accepted(self) -> None:
        """The client socket is up: hold its data until the upstream answers."""
        self.streams["upstream"]._pause("dial")
        self.streams["downstream"]._pause("dial")
        self.dial_task = self.loop.create_task(self._dial())

    async def _dial(self) -> None:
        host, port = self.proxy.upstream_address()
        try:
            await self.loop.create_connection(lambda: self.server, host, port)
        except (OSError, ValueError):
            # "if that fails the client connection is closed at once (the client sees EOF)"
            self.close()
            return
        if self.closed or self._dialled_itself():
            self.server.transport.close()
            self.close()
            return
        for stream in self.streams.values():
            _nodelay(stream.dst)
            stream._resume("dial")

    def _dialled_itself(self) -> bool:
        # An upstream that is the proxy's own listener would accept, dial again and
        # so on until the process has no descriptors left; the client sees EOF, as
        # for an upstream that refused.
        peer = self.server.transport.get_extra_info("peername")
        return peer is not None and peer == self.client.transport.get_extra_info("sockname")

    def close(self) -> None:
        """Close both sockets (buffered writes still go out) and forget the connection."""
        if self.closed:
            return
        self.closed = True
        for stream in self.streams.values():
            stream.release()
        for side in (self.client, self.server):
            if side.transport is not None:
                side.transport.close()
        if self.dial_task is not None and not self.dial_task.done():
            self.dial_task.cancel()
        self.proxy.connection_closed(self)

    def cut(self) -> None:
        """Drop everything at once (a disabled proxy)."""
        for side in (self.client, self.server):
            if side.transport is not None:
                side.transport.abort()
        self.close()

    def reset(self) -> None:
        """Abortive close of both sockets: each peer sees ECONNRESET."""
        for side in (self.client, self.server):
            transport = side.transport
            if transport is None:
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                except OSError:
                    pass
            transport.abort()
        self.close()


def _nodelay(transport: asyncio.BaseTransport | None) -> None:
    # Chunks leave at chosen times; Nagle would hold small ones for an ACK.
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
