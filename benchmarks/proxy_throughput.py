"""Throughput and added latency of the bench's Toxiproxy-compatible proxy.

Measures, in one run, against a baseline measured the same way:

1. bulk transfer over loopback, direct and through an unshaped proxy:
   ``ratio`` = proxied / direct throughput (target >= 0.5);
2. round trip of a 1-byte ping-pong, direct and proxied: the latency the
   proxy adds per direction (median, target < 0.3 ms);
3. 500 concurrent connections shaped to GPRS (6.25 KB/s down): each
   connection's rate (least-squares slope of bytes received over time)
   against its target, the worst printed (target: every one within 10 %).

The proxy runs as ``syncbench toxiproxy serve`` in its own process, as a real
toxiproxy-server would; senders and receivers run in this process. The last
line is a JSON object with ``ratio`` and the other figures.

    python benchmarks/proxy_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import threading
import time

from bench.link.client import LinkClient
from bench.link.profiles import get_profile
from bench.link.testing import EchoServer, connect

CHUNK = 1024 * 1024
GPRS_TOLERANCE = 0.10


def start_proxy_server() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "bench", "toxiproxy", "serve", "--port", "0",
                             "--seed", "1"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "API on" not in line:
        proc.kill()
        raise SystemExit(f"proxy server did not start: {line!r}")
    return proc, line.split()[4]


def sink_server() -> tuple[socket.socket, dict]:
    """A listener whose connections are read to EOF in threads (recv_into, no copies kept)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(16)
    state = {"done": threading.Semaphore(0)}

    def serve(conn: socket.socket) -> None:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while conn.recv_into(view):
            pass
        conn.close()
        state["done"].release()

    def accept() -> None:
        while True:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return lsock, state


def bulk(address: str, total: int, done: threading.Semaphore) -> float:
    """Seconds to push ``total`` bytes to the sink at ``address`` and see it finish."""
    payload = b"\x5a" * CHUNK
    start = time.perf_counter()
    with connect(address) as sock:
        for _ in range(total // CHUNK):
            sock.sendall(payload)
    done.acquire()
    return time.perf_counter() - start


def ping_rtts(address: str, n: int) -> list[float]:
    out = []
    with connect(address) as sock:
        for _ in range(n):
            start = time.perf_counter()
            sock.sendall(b"p")
            if sock.recv(1) != b"p":
                raise SystemExit("ping lost")
            out.append(time.perf_counter() - start)
    return out


async def gprs_rates(listen: str, conns: int, seconds: float) -> list[float]:
    """Steady downstream rate of each of ``conns`` concurrent connections (bytes/s)."""
    host, _, port = listen.rpartition(":")
    marks: list[list[tuple[float, int]]] = []

    async def one() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        got, mine = 0, []
        marks.append(mine)
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            try:
                data = await asyncio.wait_for(reader.read(65536), deadline - time.perf_counter())
            except TimeoutError:
                break
            if not data:
                break
            got += len(data)
            mine.append((time.perf_counter(), got))
        writer.close()

    await asyncio.gather(*(one() for _ in range(conns)))
    return [slope(mine) for mine in marks]


def slope(marks: list[tuple[float, int]]) -> float:
    """Least-squares bytes per second over every read: one late read moves it little."""
    if len(marks) < 3:
        return 0.0  # nothing measurable arrived: counts as a miss
    ts = [t for t, _ in marks]
    ns = [n for _, n in marks]
    return statistics.linear_regression(ts, ns).slope


async def source(server_ready: asyncio.Future, size: int) -> None:
    """Sends ``size`` bytes on every connection (more than a run can pass), then holds it open."""
    block = b"g" * size

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(block)
            await writer.drain()
            await reader.read()
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    server_ready.set_result(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def run_gprs(client: LinkClient, conns: int, seconds: float, target: float) -> list[float]:
    async def main() -> list[float]:
        ready: asyncio.Future = asyncio.get_running_loop().create_future()
        size = int(target * (seconds + 2))
        source_task = asyncio.create_task(source(ready, size))
        port = await ready
        proxy = client.create_proxy("gprs_many", f"127.0.0.1:{port}")
        client.apply_profile("gprs_many", "gprs")
        try:
            return await gprs_rates(proxy["listen"], conns, seconds)
        finally:
            source_task.cancel()

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller transfers, shorter GPRS run")
    args = parser.parse_args()
    total = (256 if args.quick else 1024) * CHUNK
    rounds = 2 if args.quick else 3
    pings = 300 if args.quick else 2000
    conns = 100 if args.quick else 500
    gprs_s = 3.0 if args.quick else 6.0

    proc, url = start_proxy_server()
    lsock, sink = sink_server()
    sink_address = f"127.0.0.1:{lsock.getsockname()[1]}"
    try:
        with LinkClient(url) as client, EchoServer() as echo:
            bulk_proxy = client.create_proxy("bulk", sink_address)["listen"]
            direct = min(bulk(sink_address, total, sink["done"]) for _ in range(rounds))
            proxied = min(bulk(bulk_proxy, total, sink["done"]) for _ in range(rounds))
            direct_bps, proxied_bps = total / direct, total / proxied
            ratio = proxied_bps / direct_bps
            print(f"bulk {total / 1e6:.0f} MB: direct {direct_bps / 1e6:.0f} MB/s, "
                  f"proxied {proxied_bps / 1e6:.0f} MB/s, ratio {ratio:.2f} (target >= 0.5)")

            ping_proxy = client.create_proxy("ping", echo.address)["listen"]
            direct_rtt = statistics.median(ping_rtts(echo.address, pings))
            proxied_rtt = statistics.median(ping_rtts(ping_proxy, pings))
            added_ms = (proxied_rtt - direct_rtt) / 2 * 1000
            print(f"ping: direct RTT {direct_rtt * 1e3:.3f} ms, proxied {proxied_rtt * 1e3:.3f} ms, "
                  f"added {added_ms:.3f} ms per direction (target < 0.3)")

            target = get_profile("gprs").shape("down").rate_kbps * 125
            rates = run_gprs(client, conns, gprs_s, target)
            errors = [(r - target) / target for r in rates]
            worst = max(errors, key=abs)
            held = sum(abs(e) <= GPRS_TOLERANCE for e in errors)
            print(f"gprs x{conns}: target {target:.0f} B/s, median {statistics.median(rates):.0f} B/s, "
                  f"worst {worst:+.1%}, {held}/{len(rates)} within {GPRS_TOLERANCE:.0%}")
    finally:
        proc.terminate()
        proc.wait(10)
        lsock.close()
    print(json.dumps({
        "ratio": round(ratio, 3),
        "direct_MBps": round(direct_bps / 1e6, 1),
        "proxied_MBps": round(proxied_bps / 1e6, 1),
        "added_latency_ms_per_direction": round(added_ms, 4),
        "gprs_connections": conns,
        "gprs_worst_rel_error": round(worst, 4),
        "gprs_within_10pct": held,
        "quick": args.quick,
    }))


if __name__ == "__main__":
    main()
