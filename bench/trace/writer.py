"""Writer of ``syncbench.trace/1``.

Theory of operation: events are plain dicts with keys in a fixed order
(``ev``, ``t``, ``dev``, then the rest as given), serialised with orjson, one
per line. ``t`` is rounded to the microsecond so that the same run gives the
same bytes whatever float noise a clock adds. The writer does not sort: the
producer is responsible for non-decreasing ``t`` (a merge of several producers
goes through :func:`merge`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from bench.trace.schema import SCHEMA

# Microsecond resolution: finer than any clock the bench drives, coarse enough
# to hide float noise from summing timer intervals.
T_DIGITS = 6


def event(ev: str, t: float, dev: str | None = None, **fields: Any) -> dict[str, Any]:
    """Build an event dict in canonical key order; None-valued optional fields are dropped."""
    out: dict[str, Any] = {"ev": ev, "t": round(t, T_DIGITS)}
    if dev is not None:
        out["dev"] = dev
    for k, v in fields.items():
        if k == "class_":
            k = "class"
        if v is not None or k in ("at", "assignee"):
            out[k] = v
    return out


def meta(
    policy: str | None = None,
    *,
    settled: bool | None = None,
    seed: int | None = None,
    time_scale: float | None = None,
    params: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"ev": "meta", "schema": SCHEMA}
    for k, v in (("policy", policy), ("settled", settled), ("seed", seed),
                 ("time_scale", time_scale), ("params", params)):
        if v is not None:
            out[k] = v
    out.update(extra)
    return out


def dumps(ev: dict[str, Any]) -> bytes:
    return orjson.dumps(ev) + b"\n"


class TraceWriter:
    """Append events to a file or binary stream."""

    def __init__(self, target: str | Path | IO[bytes]):
        if isinstance(target, str | Path):
            self._fh: IO[bytes] = open(target, "wb")  # noqa: SIM115
            self._owned = True
        else:
            self._fh = target
            self._owned = False
        self.count = 0

    def write(self, ev: dict[str, Any]) -> None:
        self._fh.write(orjson.dumps(ev))
        self._fh.write(b"\n")
        self.count += 1

    def write_all(self, events: Iterable[dict[str, Any]]) -> None:
        for ev in events:
            self.write(ev)

    def flush(self) -> None:
        self._fh.flush()

    def close(self) -> None:
        if self._owned:
            self._fh.close()
        else:
            self._fh.flush()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_trace(path: str | Path, events: Iterable[dict[str, Any]]) -> int:
    with TraceWriter(path) as w:
        w.write_all(events)
        return w.count


def merge(*streams: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Merge time-ordered event streams into one, stable for equal ``t``.

    Events with equal ``t`` keep the order of the streams as given, then their
    order within each stream, so a merge is deterministic.
    """
    def keyed(i: int, stream: Iterable[dict[str, Any]]):
        for j, ev in enumerate(stream):
            yield ev.get("t", 0.0), i, j, ev

    for _t, _i, _j, ev in heapq.merge(*(keyed(i, s) for i, s in enumerate(streams))):
        yield ev
