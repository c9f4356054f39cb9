"""Throughput of the reference sync server against a bare Starlette endpoint.

Starts two servers as subprocesses with the same uvicorn settings (the
reference server on a SQLite file in WAL mode, and a bare Starlette app whose
``POST /v1/sync`` reads the body and returns a constant JSON object), and loads
each from a generator that is not the bottleneck: ``GEN_PROCS`` processes of a
raw asyncio HTTP/1.1 keep-alive client (pre-built request bytes, one
``readuntil`` + ``readexactly`` per response; no HTTP library), ``CONNS``
connections in all. Three sync workloads:

    nothing   a full sync whose cursor is current (empty answer)
    upload    a full sync carrying one new text change (one commit, one record back)
    download  a download sync returning 10 changed records

    ratio_<w> = requests/s of the reference server / requests/s of the bare endpoint

Baseline and server alternate for ``ROUNDS`` rounds per workload and the best
round of each counts (the machine may be shared). Then each workload runs open-loop at half its max rate, and p50/p99 latency
(measured from the scheduled send time, so queueing counts) is printed.
Targets: ratios >= 0.35 / 0.2 / 0.15 (aim 0.5 / 0.25 / 0.2). The last line
is a JSON object; its ``ratio`` is the minimum of the three ratios.

    python benchmarks/server_throughput.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile

import httpx
import orjson

# Two generator processes: on a 2-core machine the server process gets one
# core and the generator the other; the raw client does ~20k req/s per core,
# several times what a Python server answers, so it is not the bottleneck.
GEN_PROCS = 2
# Concurrent keep-alive connections in all (a busy fleet's in-flight syncs).
CONNS = 32
DURATION_S = 5.0
QUICK_DURATION_S = 1.5
WARMUP_S = 1.0
QUICK_WARMUP_S = 0.3
# Alternating baseline/server rounds per workload (best of each is kept).
ROUNDS = 3
QUICK_ROUNDS = 1
# Records the download workload returns ("a sync downloading 10 changed records").
DOWNLOAD_RECORDS = 10
HOST = "127.0.0.1"
BARE_RESPONSE = orjson.dumps({"acks": [], "records": [], "removed": [], "files": [],
                              "cursor": "0.0000000000000000", "more": False,
                              "server_time": 0.0})


# ---------------------------------------------------------------- bare server
def serve_bare() -> int:
    """The baseline: same uvicorn settings as reference_server.cli.serve."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from reference_server.cli import KEEPALIVE_S, bind

    async def sync(request: Request) -> Response:
        await request.body()
        return Response(BARE_RESPONSE, media_type="application/json")

    app = Starlette(routes=[Route("/v1/sync", sync, methods=["POST"])])
    sock = bind(HOST, 0)
    port = sock.getsockname()[1]

    class Server(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            print(orjson.dumps({"ready": True, "url": f"http://{HOST}:{port}",
                                "port": port}).decode(), flush=True)

    Server(uvicorn.Config(app, log_level="warning", access_log=False,
                          timeout_keep_alive=KEEPALIVE_S, lifespan="on")).run(sockets=[sock])
    return 0


# ---------------------------------------------------------------- load generator
def request_bytes(port: int, token: str, body: bytes) -> bytes:
    return (f"POST /v1/sync HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def make_requests(spec: dict, conn: int, proc: int):
    """A function n -> request bytes for one connection of one workload."""
    port, kind = spec["port"], spec["kind"]
    if kind == "upload":
        dev, token, record = spec["devices"][(proc * 1000 + conn) % len(spec["devices"])]
        cursor = spec["cursors"][dev]
        pre = (b'{"device":"%s","cursor":"%s","mode":"full","changes":[{"change":"'
               % (dev.encode(), cursor.encode()))
        post = b'","record":"%s","kind":"text","base_version":null,"fields":{"note":"x"}}]}' % (
            record.encode())
        tag = f"p{proc}c{conn}-{os.getpid()}-".encode()
        return lambda n: request_bytes(port, token, pre + tag + str(n).encode() + post)
    fixed = request_bytes(port, spec["token"], spec["body"])
    return lambda n: fixed


async def _connection(spec, conn, proc, start, stop, interval, lat, stat):
    reader, writer = await asyncio.open_connection(HOST, spec["port"])
    make = make_requests(spec, conn, proc)
    loop = asyncio.get_running_loop()
    n = 0
    try:
        while True:
            due = start + n * interval if interval else loop.time()
            if due >= stop:
                return
            if interval and due > loop.time():
                await asyncio.sleep(due - loop.time())
            writer.write(make(n))
            head = await reader.readuntil(b"\r\n\r\n")
            i = head.lower().index(b"content-length:")
            length = int(head[i + 15:head.index(b"\r\n", i)])
            await reader.readexactly(length)
            now = loop.time()
            if head[9:12] != b"200":
                stat["errors"] += 1
            if now >= start:
                stat["count"] += 1
                lat.append(now - due)
            n += 1
    finally:
        writer.close()


async def _load(spec, proc, conns, duration, warmup, rate):
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup
    stop = start + duration
    lat: list[float] = []
    stat = {"count": 0, "errors": 0}
    # Open loop: each connection sends at rate/conns, staggered evenly.
    interval = conns / rate if rate else 0.0
    tasks = []
    for c in range(conns):
        offset = (c * interval / conns) if interval else 0.0
        tasks.append(_connection(spec, c, proc, start + offset, stop, interval, lat, stat))
    await asyncio.gather(*tasks)
    return {"count": stat["count"], "errors": stat["errors"], "lat": lat}


def _gen_main(args):
    spec, proc, conns, duration, warmup, rate = args
    return asyncio.run(_load(spec, proc, conns, duration, warmup, rate))


def run_load(spec: dict, duration: float, warmup: float, rate: float | None = None) -> dict:
    per_proc_rate = rate / GEN_PROCS if rate else None
    ctx = mp.get_context("spawn")
    with ctx.Pool(GEN_PROCS) as pool:
        parts = pool.map(_gen_main, [(spec, p, CONNS // GEN_PROCS, duration, warmup,
                                      per_proc_rate) for p in range(GEN_PROCS)])
    lat = sorted(x for p in parts for x in p["lat"])
    count = sum(p["count"] for p in parts)

    def q(f):
        return round(lat[min(len(lat) - 1, int(f * len(lat)))] * 1000, 3) if lat else None

    return {"rps": round(count / duration, 1), "errors": sum(p["errors"] for p in parts),
            "p50_ms": q(0.5), "p99_ms": q(0.99)}


# ---------------------------------------------------------------- set-up
def start_bare():
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-bare"],
                            stdout=subprocess.PIPE)
    line = proc.stdout.readline()
    ready = orjson.loads(line)
    return proc, ready["port"]


def prepare(srv) -> dict[str, dict]:
    """Provision devices and records; return the workload specs for the reference server."""
    port = srv.port
    d = {"Authorization": f"Bearer {srv.dispatcher_token}"}
    with httpx.Client(base_url=srv.url, headers=d, timeout=30) as c:
        dl_token = srv.provision("bench-dl")
        for i in range(DOWNLOAD_RECORDS):
            c.post("/v1/web/jobs", json={"id": f"dl-{i}", "assignee": "bench-dl",
                                         "fields": {"title": f"Job {i}", "address": "1 Main St",
                                                    "status": "new"}})
        full = c.post("/v1/sync", headers={"Authorization": f"Bearer {dl_token}"},
                      json={"device": "bench-dl", "cursor": None, "mode": "download"}).json()
        assert len(full["records"]) == DOWNLOAD_RECORDS, full
        devices, cursors = [], {}
        tokens = srv.provision_workers(CONNS, prefix="up")
        for dev, tok in tokens.items():
            c.post("/v1/web/jobs", json={"id": f"job-{dev}", "assignee": dev,
                                         "fields": {"title": "t", "status": "new"}})
            r = c.post("/v1/sync", headers={"Authorization": f"Bearer {tok}"},
                       json={"device": dev, "cursor": None, "mode": "download"}).json()
            devices.append((dev, tok, f"job-{dev}"))
            cursors[dev] = r["cursor"]
    nothing = orjson.dumps({"device": "bench-dl", "cursor": full["cursor"], "mode": "full",
                            "changes": []})
    download = orjson.dumps({"device": "bench-dl", "cursor": None, "mode": "download"})
    return {
        "nothing": {"kind": "fixed", "port": port, "token": dl_token, "body": nothing},
        "upload": {"kind": "upload", "port": port, "devices": devices, "cursors": cursors},
        "download": {"kind": "fixed", "port": port, "token": dl_token, "body": download},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        return serve_bare()
    duration = QUICK_DURATION_S if args.quick else DURATION_S
    warmup = QUICK_WARMUP_S if args.quick else WARMUP_S
    rounds = QUICK_ROUNDS if args.quick else ROUNDS

    from reference_server.testing import running_server

    bare_proc, bare_port = start_bare()
    results: dict = {"generator": f"{GEN_PROCS} processes of a raw asyncio HTTP/1.1 "
                                  f"keep-alive client, {CONNS} connections",
                     "duration_s": duration, "rounds": rounds, "cores": os.cpu_count(),
                     "load_avg_1m": round(os.getloadavg()[0], 2)}
    try:
        bare_spec = {"kind": "fixed", "port": bare_port, "token": "x",
                     "body": orjson.dumps({"device": "d", "cursor": None, "mode": "full"})}
        with tempfile.TemporaryDirectory() as tmp, \
                running_server(db=os.path.join(tmp, "bench.db"), subprocess=True) as srv:
            specs = prepare(srv)
            for name, spec in specs.items():
                # Baseline and server alternate, several rounds, best of each:
                # drift in machine load hits both sides of the ratio, and the
                # best round is the one least disturbed by other processes.
                bares, refs = [], []
                for _ in range(rounds):
                    bares.append(run_load(bare_spec, duration, warmup))
                    refs.append(run_load(spec, duration, warmup))
                bare = max(bares, key=lambda x: x["rps"])
                ref = max(refs, key=lambda x: x["rps"])
                ratio = round(ref["rps"] / bare["rps"], 3) if bare["rps"] else 0.0
                half = run_load(spec, duration, warmup, rate=ref["rps"] / 2)
                results[name] = {"rps": ref["rps"], "bare_rps": bare["rps"], "ratio": ratio,
                                 "errors": ref["errors"] + half["errors"],
                                 "half_rate_rps": half["rps"], "p50_ms": half["p50_ms"],
                                 "p99_ms": half["p99_ms"]}
                print(f"{name:9s} ref {ref['rps']:8.1f}/s  bare {bare['rps']:8.1f}/s  "
                      f"ratio {ratio:.3f}  at half rate: p50 {half['p50_ms']} ms  "
                      f"p99 {half['p99_ms']} ms  errors {ref['errors'] + half['errors']}",
                      flush=True)
    finally:
        bare_proc.terminate()
        bare_proc.wait(30)
    results["ratio_nothing"] = results["nothing"]["ratio"]
    results["ratio_upload"] = results["upload"]["ratio"]
    results["ratio_download"] = results["download"]["ratio"]
    results["ratio"] = min(results["ratio_nothing"], results["ratio_upload"],
                           results["ratio_download"])
    results["ratio_is"] = "minimum of ratio_nothing, ratio_upload, ratio_download"
    print(orjson.dumps(results).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
