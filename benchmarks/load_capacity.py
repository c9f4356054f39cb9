"""Server capacity under the Planado steady load, and what the Locust generator costs.

Measures, in one run:

1. **Capacity**: ``syncbench load --find-capacity --p99-ms 200 --profile steady
   --policy planado`` (doubling then bisecting the fleet, each step a short
   run against a fresh reference server). At time scale K a device makes the
   requests of K devices at the 2-minute cadence, so the largest fleet that
   held the gate, times K, is the fleet at the real cadence; divided by the
   server's cores (the reference server is one process with one event loop:
   1 core) it is ``devices_per_core``.
2. **Generator cost**: the same sync requests sent by a bare loop of the same
   HTTP client (geventhttpclient, what Locust's ``FastHttpUser`` uses), one
   greenlet per device, no engine and no Locust, against a Locust run of the
   same fleet; both as requests per CPU second of the generator process(es).
   ``ratio`` = bare / Locust requests per second per core: how many times
   more a generator core could send without the engine and Locust's
   bookkeeping (the price of realistic devices).

Every part runs in its own process (the server, each load run, the bare
loop), so this process never imports Locust or gevent. The last line is a
JSON object with ``ratio``, ``devices_per_core`` and the figures.

    python benchmarks/load_capacity.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
P99_GATE_MS = 200.0  # the gate: "p99 < 200 ms"
SERVER_CORES = 1  # reference_server: one uvicorn process, one event loop
# Time scale of the capacity search: each simulated device stands for this many
# devices at the real cadence, so a laptop's generator reaches server limits.
CAPACITY_TIME_SCALE = 20.0
# Time scale of the generator-cost runs: a timer sync every 0.12 wall seconds
# per device, so the generator is busy and its fixed costs do not dominate.
COST_TIME_SCALE = 1000.0
COST_DEVICES = 50
# Photos in the cost run are small, so the comparison is per request, not per
# byte: at K=1000 a 400 KB photo per 2 s of wall per device would make the
# generator's cost mostly making photo bytes.
COST_PHOTO_BYTES = 1000

BARE_LOOP = textwrap.dedent("""
    import json, sys, time
    from gevent import monkey; monkey.patch_all()
    import gevent, orjson, psutil
    from geventhttpclient import HTTPClient
    url, seconds, tokens = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
    host, port = url.split("//")[1].split(":")
    count = [0]
    def device(dev, token):
        c = HTTPClient(host, int(port), concurrency=1, network_timeout=30, connection_timeout=30)
        h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        cursor, end = None, time.time() + seconds
        while time.time() < end:
            body = orjson.dumps({"device": dev, "cursor": cursor, "mode": "full", "changes": []})
            r = c.post("/v1/sync", body=body, headers=h)
            data = r.read()
            if r.status_code == 200:
                cursor = orjson.loads(data)["cursor"]
            count[0] += 1
    p = psutil.Process(); c0 = sum(p.cpu_times()[:2])
    gevent.joinall([gevent.spawn(device, d, t) for d, t in tokens.items()])
    print(json.dumps({"requests": count[0], "cpu_s": sum(p.cpu_times()[:2]) - c0}))
""")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def bare_loop(seconds: float, devices: int) -> dict:
    sys.path.insert(0, str(ROOT))
    from reference_server.testing import running_server

    with tempfile.TemporaryDirectory() as tmp, \
            running_server(db=str(Path(tmp) / "s.db"), subprocess=True) as srv:
        tokens = srv.provision_workers(devices)
        out = subprocess.run([sys.executable, "-c", BARE_LOOP, srv.url, str(seconds),
                              json.dumps(tokens)], capture_output=True, text=True, check=True,
                             env=_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def locust_run(seconds: float, devices: int, tmp: Path) -> dict:
    out = tmp / "cost"
    subprocess.run([sys.executable, "-m", "bench", "load", "--devices", str(devices),
                    "--time-scale", str(COST_TIME_SCALE), "--duration", str(seconds),
                    "--spawn-rate", "1000", "--photo-bytes", str(COST_PHOTO_BYTES),
                    "--out", str(out), "--quiet"],
                   cwd=ROOT, env=_env(), check=True, stderr=subprocess.DEVNULL)
    data = json.loads((out / "load.json").read_text())
    return {"requests": data["summary"]["requests"], "cpu_s": data["cpu"]["cpu_s"],
            "p99_ms": data["summary"]["p99_ms"], "saturated": data["cpu"]["saturated"]}


def capacity(step_s: float, max_devices: int, tmp: Path) -> dict:
    out = tmp / "capacity"
    subprocess.run([sys.executable, "-m", "bench", "load", "--find-capacity",
                    "--p99-ms", str(P99_GATE_MS), "--profile", "steady", "--policy", "planado",
                    "--time-scale", str(CAPACITY_TIME_SCALE), "--devices", "25",
                    "--step-duration", str(step_s), "--max-devices", str(max_devices),
                    "--out", str(out)], cwd=ROOT, env=_env(), check=False)
    return json.loads((out / "capacity.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short steps (a smoke run)")
    args = ap.parse_args()
    cost_s = 5.0 if args.quick else 15.0
    step_s = 8.0 if args.quick else 20.0
    max_devices = 200 if args.quick else 5000
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        bare = bare_loop(cost_s, COST_DEVICES)
        loc = locust_run(cost_s, COST_DEVICES, tmp)
        cap = capacity(step_s, max_devices, tmp)
    bare_per_core = bare["requests"] / bare["cpu_s"] if bare["cpu_s"] else 0.0
    loc_per_core = loc["requests"] / loc["cpu_s"] if loc["cpu_s"] else 0.0
    ratio = bare_per_core / loc_per_core if loc_per_core else 0.0
    print(f"generator cost: bare geventhttpclient {bare_per_core:.0f} req/s per core, "
          f"Locust device users {loc_per_core:.0f} req/s per core (ratio {ratio:.2f})")
    print(f"capacity: {cap['devices']} devices at time scale {cap['time_scale']:g} = "
          f"{cap['devices_at_cadence']:g} Planado devices at the 2-minute cadence with "
          f"p99 <= {P99_GATE_MS:g} ms ({cap['rps']:.1f} req/s), limited by the {cap['limited_by']}")
    print(json.dumps({
        "ratio": round(ratio, 3),
        "devices_per_core": cap["devices_at_cadence"] / SERVER_CORES,
        "capacity_devices": cap["devices"], "capacity_time_scale": cap["time_scale"],
        "capacity_rps": round(cap["rps"], 2), "limited_by": cap["limited_by"],
        "capacity_steps": len(cap["steps"]), "p99_gate_ms": P99_GATE_MS,
        "bare_rps_per_core": round(bare_per_core, 1), "locust_rps_per_core": round(loc_per_core, 1),
        "bare": bare, "locust": loc, "cpu_count": os.cpu_count(), "quick": args.quick}))


if __name__ == "__main__":
    main()
