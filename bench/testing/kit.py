"""Check a team's own server, proxy or client the way the bench checks its own.

Theory of operation: three entry points, each pointed at something running
(or runnable) and answering with what is wrong, empty when nothing is:

- :func:`check_server` runs the protocol conformance suite of
  docs/protocol.md against a server URL (``reference_server.conformance``);
- :func:`check_proxy` runs the Toxiproxy API conformance suite against a
  proxy URL (``bench.link.conformance``), with a loopback echo server as the
  upstream unless one is given;
- :func:`check_client` runs a client *driver* -- any command that speaks the
  reference client's command line (docs/client.md: ``--server``, ``--token``,
  ``--device``, ``--store``, ``--trace``, ``--trace-epoch``, ``--time-scale``,
  ``--script``) -- through a scripted day against the reference server, merges
  the client's trace with the server's, and checks every rule of the policy.
  The script is the client's own JSON-lines format, its times shifted by
  ``STARTUP_WALL_S`` so the driver has started when they fall due;
  :data:`SCRIPTS` has a short day per policy that exercises what each policy
  promises.

The command is a list of strings with ``{server}``, ``{token}``, ``{device}``,
``{policy}``, ``{store}``, ``{trace}``, ``{epoch}``, ``{time_scale}`` and ``{script}``
placeholders; :data:`REFERENCE_CLIENT` is the reference client's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The reference client as a driver (its mutants: add "--mutant", NAME).
REFERENCE_CLIENT: tuple[str, ...] = (
    sys.executable, "-m", "reference_client.client", "--server", "{server}", "--token={token}",
    "--device", "{device}", "--policy", "{policy}", "--store", "{store}", "--trace", "{trace}", "--trace-epoch", "{epoch}",
    "--time-scale", "{time_scale}", "--script", "{script}")

# A short day per policy, in spec seconds (docs/client.md "Scripts").
SCRIPTS: dict[str, tuple[dict[str, Any], ...]] = {
    # Planado: open, status change, text, a photo on EDGE that must wait for a
    # fast link while text still flows, timer syncs, a manual pull.
    "planado": (
        {"at": 0, "do": "link", "class": "wifi"}, {"at": 0, "do": "app", "state": "opened"},
        {"at": 10, "do": "edit", "record": "cc-1", "kind": "status", "status": "started"},
        {"at": 20, "do": "edit", "record": "cc-1", "kind": "text", "fields": {"report": "on site"}},
        {"at": 60, "do": "link", "class": "edge"},
        {"at": 70, "do": "edit", "record": "cc-1", "kind": "photo", "bytes": 60_000},
        {"at": 80, "do": "edit", "record": "cc-1", "kind": "text", "fields": {"report": "photo taken"}},
        {"at": 300, "do": "link", "class": "wifi"},
        {"at": 330, "do": "manual"},
        {"at": 360, "do": "settle"}, {"do": "stop"}),
    # PlayMaker: a save uploads at once; saved offline, it uploads when the
    # connection returns; web changes arrive only by a manual pull.
    "playmaker": (
        {"at": 0, "do": "link", "class": "wifi"}, {"at": 0, "do": "app", "state": "opened"},
        {"at": 10, "do": "edit", "record": "cc-acct", "kind": "text", "fields": {"name": "Acme"}},
        {"at": 40, "do": "link", "class": "offline"},
        {"at": 50, "do": "edit", "record": "cc-acct", "kind": "text", "fields": {"note": "call"}},
        {"at": 90, "do": "link", "class": "wifi"},
        {"at": 120, "do": "manual"},
        {"at": 150, "do": "settle"}, {"do": "stop"}),
}
DEFAULT_TIME_SCALE = 60.0
# Wall seconds a driver gets to start before its script's t = 0: "at" is spec
# time on the trace clock (docs/client.md), and a client still importing when
# its first steps fall due would play them all at once.
STARTUP_WALL_S = 3.0
# Wall seconds a driver may take past its script's spec length / K.
EXTRA_WALL_S = 60.0
MAX_TIME_SCALE = 600.0


@dataclass(frozen=True, slots=True)
class ClientCheck:
    """What :func:`check_client` found: every rule's result, and the failures."""

    policy: str
    results: tuple[Any, ...]  # bench.rules.RuleResult
    trace: Path  # the merged trace (client + server), kept for reports
    exit_code: int
    stderr: str = ""
    failures: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.failures


def check_server(url: str, *, admin_token: str) -> list[str]:
    """The protocol conformance suite against ``url``; the failures (empty: conforms).
    :func:`bench.testing.conformance.run_conformance` gives one result per named check."""
    from bench.testing.conformance import check_server as run

    return run(url, admin_token=admin_token)


def check_proxy(url: str, upstream: str | None = None) -> dict[str, str]:
    """The Toxiproxy API conformance suite against ``url``: ``{check: failure}``."""
    import httpx

    from bench.link.conformance import run
    from bench.link.testing import EchoServer

    with httpx.Client(base_url=url, timeout=10) as api:
        if upstream is not None:
            return run(api, upstream)
        with EchoServer() as echo:
            return run(api, echo.address)


def check_client(command: Sequence[str] = REFERENCE_CLIENT, *, policy: str = "planado",
                 script: Sequence[dict[str, Any]] | None = None,
                 time_scale: float = DEFAULT_TIME_SCALE, workdir: str | Path | None = None,
                 device: str = "cc1", grace_s: float = EXTRA_WALL_S) -> ClientCheck:
    """Run the driver ``command`` through ``script`` against the reference server
    and check every rule of ``policy`` on the merged trace.

    A failure is one line: a rule that failed (with its first violation), or the
    driver exiting non-zero or still running ``grace_s`` wall seconds past its
    script's length.
    """
    from bench.rules import check_events, get_policy
    from bench.trace import SCHEMA, TraceError, TraceReader
    from bench.trace.writer import TraceWriter, merge
    from reference_server.testing import running_server

    if not 0 < time_scale <= MAX_TIME_SCALE:
        raise ValueError(f"time_scale: must be in (0, {MAX_TIME_SCALE:g}], got {time_scale!r}")
    rules = get_policy(policy)
    lead = time_scale * STARTUP_WALL_S
    steps = [{**s, "at": s["at"] + lead} if "at" in s else dict(s)
             for s in (SCRIPTS[policy] if script is None else script)]
    spec_s = max((s.get("at", 0) for s in steps), default=0)
    root = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="syncbench-check-"))
    root.mkdir(parents=True, exist_ok=True)
    paths = {n: root / n for n in ("script.jsonl", "client.jsonl", "server.jsonl", "trace.jsonl")}
    paths["script.jsonl"].write_text("".join(json.dumps(s) + "\n" for s in steps))
    epoch = time.time()
    with running_server(trace=str(paths["server.jsonl"]), trace_epoch=epoch,
                        time_scale=time_scale) as srv:
        token = srv.provision(device, role="sales" if policy == "playmaker" else "worker")
        values = {"server": srv.url, "token": token, "device": device, "policy": policy, "store": str(root / "store"),
                  "trace": str(paths["client.jsonl"]), "epoch": repr(epoch),
                  "time_scale": f"{time_scale:g}", "script": str(paths["script.jsonl"])}
        argv = [part.format(**values) for part in command]
        failures: list[str] = []
        with open(root / "client.log", "wb") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            try:
                code = proc.wait(spec_s / time_scale + grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
                failures.append(f"the driver still ran {spec_s / time_scale + grace_s:.0f} s "
                                f"after its script's start (killed)")
    stderr = (root / "client.log").read_text(errors="replace")
    if code != 0 and not failures:
        last = stderr.strip().splitlines()[-1:] or [""]
        failures.append(f"the driver exited {code}: {last[0][:200]}".rstrip(": "))
    streams = []
    for name in ("server.jsonl", "client.jsonl"):
        p = paths[name]
        try:
            streams.append([e for e in TraceReader(p) if e.get("ev") != "meta"])
        except TraceError as exc:
            # An empty server trace is a driver that never synced; the rules say so.
            if name == "client.jsonl":
                failures.append(f"the driver's trace: {exc}")
    if not streams:
        return ClientCheck(policy=policy, results=(), trace=paths["trace.jsonl"], exit_code=code,
                           stderr=stderr, failures=tuple(failures))
    meta = {"policy": policy, "settled": True, "time_scale": time_scale, "mode": "check_client"}
    with TraceWriter(paths["trace.jsonl"]) as w:
        w.write({"ev": "meta", "schema": SCHEMA, **meta})
        for ev in merge(*streams):
            w.write(ev)
    reader = TraceReader(paths["trace.jsonl"])
    results = tuple(check_events(list(reader), rules, meta=reader.meta))
    for r in results:
        if r.verdict == "fail":
            first = r.violations[0].message if r.violations else ""
            failures.append(f"{r.id}: {first}".rstrip(": "))
    return ClientCheck(policy=policy, results=results, trace=paths["trace.jsonl"], exit_code=code,
                       stderr=stderr, failures=tuple(failures))
