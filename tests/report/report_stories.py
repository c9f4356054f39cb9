"""Traces with known stories for the report tests."""

from __future__ import annotations

from pathlib import Path

from bench.testing import TraceBuilder

# A record id a hostile export could carry: must reach the page escaped.
EVIL = "r<script>alert(1)</script>"


def failing_story() -> TraceBuilder:
    """Planado run: d1 is fine on wifi; d2 gets a push while offline (planado.offline_no_push fails)."""
    tb = TraceBuilder(policy="planado", settled=False, seed=42)
    tb.link(0, "d1", "wifi").app(0, "d1", "opened")
    tb.sync(1, "d1", "open")
    for i in range(1, 6):
        tb.sync(i * 120, "d1", "timer")
    c = tb.edit(10, "d1", "r1", "text")
    tb.ack(14, "d1", c)
    tb.unsent(10, "d1", 1).unsent(14, "d1", 0)
    photo = tb.edit(130, "d1", "r1", "photo", bytes=200_000)
    tb.file_start(131, "d1", photo, "up", 200_000)
    tb.file_end(150, "d1", photo, "up", True)
    tb.ack(151, "d1", photo)
    tb.link(0, "d2", "3g").app(0, "d2", "opened")
    tb.sync(2, "d2", "open")
    tb.dispatch(200, "create", EVIL, "d2", version=1)
    tb.link(201, "d2", "offline")
    tb.srv_push(201.5, "d2", EVIL)
    tb.push(203, "d2", EVIL)  # a push while offline: the violation
    tb.link(260, "d2", "3g")
    tb.sync(261, "d2", "link")
    tb.recv(261.5, "d2", EVIL, 1)
    return tb


def write_story(tmp: Path, tb: TraceBuilder, name: str = "trace.jsonl") -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    return tb.write(tmp / name)


def make_report(out: Path, tb: TraceBuilder, **kw):
    from bench.report import write_report

    trace = write_story(out.parent / (out.name + "-src"), tb)
    kw.setdefault("scenario", {"name": "two devices <b>", "devices": 2})
    kw.setdefault("extra", {"mode": "sim", "time_scale": 60})
    return write_report(out, trace_path=trace, policy=tb.meta.get("policy", "planado"), results=tb.check(), **kw)
