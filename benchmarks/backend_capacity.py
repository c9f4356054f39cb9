"""Backend sizing: devices held at p99 <= 200 ms, with push sockets, per backend.

Measures, on this machine, ``syncbench load --find-capacity --p99-ms 200``
(steady Planado load, every device holding its push WebSocket) against:

1. the reference server on SQLite, one instance (the baseline);
2. the reference server on PostgreSQL, one instance;
3. two instances on one PostgreSQL database behind a round-robin TCP
   balancer (this script's, a few lines of asyncio), pushes crossing
   instances by LISTEN/NOTIFY;

each as a ratio to the SQLite figure, and then the push delivery p99
(dispatcher change -> device) of a fixed run at half the SQLite capacity on
each backend. The generator shares the machine's cores with the servers, so
on a 2-core machine the figures say as much about the machine as about the
backends; run it where the server has its own cores to size a real backend.
PostgreSQL comes from Debian's binaries (``reference_server.pg_testing``);
without them the PostgreSQL rows are skipped and said so.

The last line is a JSON object with ``ratio`` (PostgreSQL x 2 / SQLite x 1)
and every figure.

    python benchmarks/backend_capacity.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

P99_GATE_MS = 200.0
TIME_SCALE = 20.0
ADMIN = "backend-capacity-admin"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SYNCBENCH_ADMIN_TOKEN": ADMIN}


@contextlib.contextmanager
def balancer(upstreams: list[tuple[str, int]]):
    """A round-robin TCP balancer on 127.0.0.1:<port> in a thread; yields its URL."""
    loop = asyncio.new_event_loop()
    pick = itertools.cycle(upstreams)
    ready: list = []

    async def pipe(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        try:
            while data := await r.read(65536):
                w.write(data)
                await w.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            w.close()

    async def client(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        host, port = next(pick)
        try:
            ur, uw = await asyncio.open_connection(host, port)
        except OSError:
            w.close()
            return
        await asyncio.gather(pipe(r, uw), pipe(ur, w))

    def run() -> None:
        server = loop.run_until_complete(asyncio.start_server(client, "127.0.0.1", 0,
                                                              backlog=4096))
        ready.append(server.sockets[0].getsockname()[1])
        loop.run_forever()
        server.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    while not ready:
        threading.Event().wait(0.01)
    yield f"http://127.0.0.1:{ready[0]}"
    loop.call_soon_threadsafe(loop.stop)
    t.join(5)


@contextlib.contextmanager
def servers(db: str, n: int, files: str):
    from reference_server.testing import running_server

    with contextlib.ExitStack() as stack:
        srvs = [stack.enter_context(running_server(db=db, subprocess=True, admin_token=ADMIN,
                                                   files_dir=files)) for _ in range(n)]
        if n == 1:
            yield srvs[0].url
        else:
            yield stack.enter_context(balancer([("127.0.0.1", s.port) for s in srvs]))


def find_capacity(url: str, step_s: float, max_devices: int, out: Path) -> dict:
    subprocess.run([sys.executable, "-m", "bench", "load", "--find-capacity", "--host", url,
                    "--p99-ms", str(P99_GATE_MS), "--profile", "steady", "--policy", "planado",
                    "--time-scale", str(TIME_SCALE), "--devices", "25",
                    "--step-duration", str(step_s), "--max-devices", str(max_devices),
                    "--out", str(out), "--quiet"], cwd=ROOT, env=_env(), check=False)
    return json.loads((out / "capacity.json").read_text())


def fixed_run(url: str, devices: int, seconds: float, out: Path) -> dict:
    subprocess.run([sys.executable, "-m", "bench", "load", "--host", url, "--devices",
                    str(max(1, devices)), "--time-scale", str(TIME_SCALE), "--duration",
                    str(seconds), "--spawn-rate", "500", "--out", str(out), "--quiet"],
                   cwd=ROOT, env=_env(), check=False)
    s = json.loads((out / "load.json").read_text())["summary"]
    return {"devices": devices, "p99_ms": s["p99_ms"], "rps": s["rps"],
            "push_delivery_p99_ms": s.get("push_delivery_p99_ms"),
            "push_sockets_max": s.get("push_sockets_max")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short steps, a low ceiling (a smoke run)")
    args = ap.parse_args()
    step_s, max_devices, fixed_s = (6.0, 200, 6.0) if args.quick else (15.0, 5000, 15.0)
    backends: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        plans = [("sqlite_x1", lambda: servers(str(tmp / "s.db"), 1, str(tmp / "f1")))]
        pg = None
        try:
            from reference_server.pg_testing import PostgresUnavailable, running_postgres
            pg = contextlib.ExitStack()
            cluster = pg.enter_context(running_postgres())
            plans += [("postgresql_x1", lambda: servers(cluster.create_database(), 1, str(tmp / "f2"))),
                      ("postgresql_x2", lambda: servers(cluster.create_database(), 2, str(tmp / "f3")))]
        except (ImportError, PostgresUnavailable) as exc:
            print(f"PostgreSQL rows skipped: {exc}", file=sys.stderr)
        try:
            for name, start in plans:
                with start() as url:
                    cap = find_capacity(url, step_s, max_devices, tmp / f"cap-{name}")
                backends[name] = {"devices": cap["devices"], "rps": round(cap["rps"], 1),
                                  "limited_by": cap["limited_by"]}
                print(f"{name}: {cap['devices']} devices at K={TIME_SCALE:g} held p99 <= "
                      f"{P99_GATE_MS:g} ms ({cap['rps']:.1f} req/s, limited by "
                      f"{cap['limited_by']})", flush=True)
            half = max(1, backends["sqlite_x1"]["devices"] // 2)
            for name, start in plans:
                with start() as url:
                    backends[name]["at_half_sqlite"] = fixed_run(url, half, fixed_s,
                                                                 tmp / f"half-{name}")
                print(f"{name} at {half} devices: {backends[name]['at_half_sqlite']}", flush=True)
        finally:
            if pg is not None:
                pg.close()
    base = backends["sqlite_x1"]["devices"] or 1
    for b in backends.values():
        b["ratio_to_sqlite_x1"] = round(b["devices"] / base, 3)
    ratio = backends.get("postgresql_x2", {}).get("ratio_to_sqlite_x1", 0.0)
    print(json.dumps({"ratio": ratio, "time_scale": TIME_SCALE, "p99_gate_ms": P99_GATE_MS,
                      "backends": backends, "cpu_count": os.cpu_count(), "quick": args.quick}))


if __name__ == "__main__":
    main()
