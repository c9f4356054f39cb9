"""One trace for the run: client traces, the server's (shifted to t0), one meta line.

Theory of operation: every device wrote its own trace (its own ``meta`` line,
then its events in non-decreasing ``t``), the server wrote one stamped from its
own epoch, and on a team's own server the runner kept the web application's
``dispatch``/``srv_snapshot`` events itself. The merge drops the parts' meta
lines, moves the server's events onto the run's clock (``t + shift``, where
``shift = (server_epoch - t0) * K``), and interleaves everything by ``t``
with :func:`bench.trace.merge` (stable, so the same inputs give the same
file), under one ``meta`` line (spec/trace.md: policy, seed, settled,
time_scale, params; plus the scenario's name and ``mode: real``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from bench.scenario.model import Scenario
from bench.trace import SCHEMA, TraceWriter, merge


def run_meta(sc: Scenario, time_scale: float, *, epoch: float | None = None,
             server_trace: bool = True) -> dict[str, Any]:
    """The run's meta line. ``epoch``: the wall-clock second of t = 0 (the
    anchor ``check --merge`` puts a server's own log on); ``server_trace``:
    false when the server wrote no trace (a team's own), so the rules judge
    the server from the bench's record (bench.rules.endtoend)."""
    out: dict[str, Any] = {"ev": "meta", "schema": SCHEMA, "policy": sc.policy, "settled": True,
                           "seed": sc.seed, "time_scale": time_scale, "params": dict(sc.params),
                           "scenario": sc.name, "mode": "real", "server_trace": server_trace}
    if epoch is not None:
        out["epoch"] = round(epoch, 6)
    return out


def _events(path: Path, shift: float = 0.0) -> list[dict[str, Any]]:
    out = []
    with open(path, "rb") as f:
        for raw in f:
            raw = raw.strip()
            if not raw:
                continue
            try:
                ev = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue  # a line a killed process left unfinished
            if not isinstance(ev, dict) or ev.get("ev") == "meta":
                continue
            if shift and isinstance(ev.get("t"), (int, float)):
                ev["t"] = max(0.0, round(ev["t"] + shift, 6))
            out.append(ev)
    # Stable sort: equal times keep the writer's order.
    out.sort(key=lambda e: e.get("t", 0.0))
    return out


def write_merged(out: Path, sc: Scenario, time_scale: float, client_traces: list[str],
                 server_trace: Path | None, shift: float, extra_events: list[dict[str, Any]],
                 *, epoch: float | None = None) -> int:
    """Write the run's trace to ``out``; returns the number of events."""
    streams = []
    if server_trace is not None and Path(server_trace).exists():
        streams.append(_events(Path(server_trace), shift))
    if extra_events:
        streams.append(sorted(extra_events, key=lambda e: e["t"]))
    for p in client_traces:
        if Path(p).exists():
            streams.append(_events(Path(p)))
    n = 0
    with TraceWriter(out) as w:
        w.write(run_meta(sc, time_scale, epoch=epoch, server_trace=server_trace is not None))
        for ev in merge(*streams):
            w.write(ev)
            n += 1
    return n
