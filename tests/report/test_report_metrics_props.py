"""trace_metrics on arbitrary valid event sequences: never fails, counts add up, JSON-clean."""

from __future__ import annotations

import math

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.report import MetricsBuilder
from bench.trace.schema import LINK_CLASSES

DEVS = st.sampled_from(["d1", "d2", "d3"])
IDS = st.sampled_from(["a", "b", "c"])


def _event(kind: str, dev: str, ident: str, cls: str, ok: bool, n: int) -> dict:
    base = {"ev": kind, "dev": dev}
    extra = {
        "link": {"class": cls},
        "app": {"state": ["opened", "minimized", "restored", "closed"][n % 4]},
        "sync_start": {"sync": f"{ident}{n}", "trigger": ["timer", "push", "manual"][n % 3]},
        "sync_end": {"sync": f"{ident}{n}", "ok": ok},
        "edit": {"change": ident, "record": ident, "kind": ["text", "photo", "status"][n % 3]},
        "ack": {"change": ident},
        "dispatch": {"op": "edit", "record": ident, "assignee": dev if ok else None, "version": n},
        "recv": {"record": ident, "version": n},
        "srv_push": {"record": ident},
        "push": {"record": ident},
        "file_start": {"file": ident, "dir": "up" if ok else "down", "bytes": 100 * n},
        "file_end": {"file": ident, "dir": "up" if ok else "down", "ok": ok},
        "unsent": {"n": n},
    }[kind]
    if kind == "dispatch":
        del base["dev"]
    return {**base, **extra}


EVENTS = st.lists(st.tuples(
    st.floats(min_value=0, max_value=50, allow_nan=False),
    st.sampled_from(["link", "app", "sync_start", "sync_end", "edit", "ack", "dispatch", "recv", "srv_push",
                     "push", "file_start", "file_end", "unsent"]),
    DEVS, IDS, st.sampled_from(sorted(LINK_CLASSES)), st.booleans(), st.integers(0, 9)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(EVENTS)
def test_metrics_of_any_sequence(raw):
    t = 0.0
    mb = MetricsBuilder()
    for dt, kind, dev, ident, cls, ok, n in raw:
        t += dt
        mb.feed({"t": t, **_event(kind, dev, ident, cls, ok, n)})
    m = mb.result()
    orjson.dumps(m)  # JSON-clean: no NaN, no infinity, no odd types
    starts = sum(1 for r in raw if r[1] == "sync_start")
    assert m["sync"]["starts"] == starts
    assert sum(m["sync"]["by_trigger"].values()) == starts
    assert m["sync_interval_s"]["count"] <= max(0, starts - 1)
    for name in ("sync_interval_s", "staleness_s", "upload_delay_s", "push_delay_s"):
        s = m[name]
        assert s["count"] == sum(c["count"] for c in s["by_class"].values())
        if s["count"]:
            assert 0 <= s["min"] <= s["p50"] <= s["p95"] <= s["max"]
    assert all(math.isfinite(v) for v in m["key"].values() if v is not None)
