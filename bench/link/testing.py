"""Loopback test tools: small TCP servers on port 0 and a client that times transfers.

Theory of operation: each server is a listening socket on ``127.0.0.1:0``
served by one thread per connection, so it is ready the moment the
constructor returns (the port is bound and listening; nothing to sleep for).
They are plain blocking sockets on purpose: the proxy under test runs on its
own event loop, and these stand in for an app server anywhere on the network.

- :class:`EchoServer` sends back whatever it receives.
- :class:`SinkServer` reads everything and records when each byte count arrived.
- :class:`SourceServer` sends a fixed payload on every connection, then closes.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

READ_SIZE = 256 * 1024


class LoopbackServer:
    """A threaded TCP server on ``127.0.0.1:0``; subclasses implement :meth:`serve`."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.connections = 0
        self._closed = False
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connections += 1
            self._conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self.serve(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def serve(self, conn: socket.socket) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True
        try:
            # close() alone leaves the accepting thread blocked, the port listening.
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for conn in self._conns:
            try:
                conn.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EchoServer(LoopbackServer):
    def serve(self, conn: socket.socket) -> None:
        while data := conn.recv(READ_SIZE):
            conn.sendall(data)


class SinkServer(LoopbackServer):
    """Reads until EOF; ``received`` holds every connection's bytes, ``finished`` counts EOFs.

    ``arrivals`` holds, per connection, ``(perf_counter time, bytes so far)``
    after every read, to measure a rate without the connection's set-up time.
    """

    def __init__(self) -> None:
        self.received: list[bytearray] = []
        self.arrivals: list[list[tuple[float, int]]] = []
        self.finished = threading.Semaphore(0)
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        buf = bytearray()
        marks: list[tuple[float, int]] = []
        self.received.append(buf)
        self.arrivals.append(marks)
        try:
            while data := conn.recv(READ_SIZE):
                buf += data
                marks.append((time.perf_counter(), len(buf)))
        finally:
            self.finished.release()


class SourceServer(LoopbackServer):
    """Sends ``payload`` to every connection and closes it."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        conn.sendall(self.payload)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(READ_SIZE):
            pass


def connect(address: str, timeout: float = 10.0) -> socket.socket:
    host, _, port = address.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """Read exactly ``n`` bytes; short when the peer closes first."""
    buf = bytearray()
    while len(buf) < n:
        data = sock.recv(min(READ_SIZE, n - len(buf)))
        if not data:
            break
        buf += data
    return bytes(buf)


def recv_all(sock: socket.socket) -> bytes:
    """Read until EOF."""
    buf = bytearray()
    while data := sock.recv(READ_SIZE):
        buf += data
    return bytes(buf)


def recv_marks(sock: socket.socket) -> tuple[bytes, list[tuple[float, int]]]:
    """Read until EOF, noting ``(perf_counter time, bytes so far)`` after every read."""
    buf = bytearray()
    marks: list[tuple[float, int]] = []
    while data := sock.recv(READ_SIZE):
        buf += data
        marks.append((time.perf_counter(), len(buf)))
    return bytes(buf), marks


def steady_rate(marks: list[tuple[float, int]]) -> float:
    """Bytes per second from the first read to the last (set-up time excluded)."""
    (t0, n0), (t1, n1) = marks[0], marks[-1]
    if t1 <= t0:
        raise ValueError("need reads spread over time to measure a rate")
    return (n1 - n0) / (t1 - t0)


def close_to(measure: Callable[[], float], target: float, tolerance: float,
             attempts: int = 3) -> float:
    """Measure up to ``attempts`` times; the first value within tolerance, else the closest.

    For timing checks on a shared machine: the proxy's timers only ever fire
    late, and a loaded 2-core machine can delay one by tens of milliseconds,
    while a proxy that is wrong is wrong on every attempt.
    """
    best = None
    for _ in range(attempts):
        value = measure()
        if abs(value - target) <= tolerance:
            return value
        if best is None or abs(value - target) < abs(best - target):
            best = value
    return best


@contextlib.contextmanager
def quick_gil_handoff(interval: float = 0.0005) -> Iterator[None]:
    """Lower the GIL switch interval (5 ms by default) while loopback threads share a process.

    The proxy's loop thread, an echo server thread and the client thread take
    turns on the GIL; with the default interval one can wait 5 ms for another,
    which is noise in a millisecond-scale latency measurement.
    """
    old = sys.getswitchinterval()
    sys.setswitchinterval(interval)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def echo_time(sock: socket.socket, payload: bytes) -> float:
    """Seconds from sending ``payload`` to reading it all back through an echo."""
    start = time.perf_counter()
    sock.sendall(payload)
    got = recv_exactly(sock, len(payload))
    elapsed = time.perf_counter() - start
    if got != payload:
        raise AssertionError(f"echo returned {len(got)} bytes that differ from the {len(payload)} sent")
    return elapsed
