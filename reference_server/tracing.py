"""The server's clock and its ``syncbench.trace/1`` writer.

Theory of operation: the bench runs real time compressed by a factor K, so the
server reports spec time ``t = (wall_now - trace_epoch) * K`` ("the app takes
an injected clock, a trace_epoch ... and a time_scale K"). :class:`TraceClock`
computes it from an injected wall clock and never goes backwards (a wall clock
may step; the trace must be non-decreasing). :class:`Tracer` writes one event
per line with orjson, keys in the canonical order ``ev, t, dev, ...`` and
flushes each line ("flushed promptly (line-buffered)"). Events are written from
the event-loop thread only, so their order is their ``t`` order.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, Any

import orjson

# Microsecond resolution, as the bench's own writer (bench/trace/writer.py).
T_DIGITS = 6
SCHEMA = "syncbench.trace/1"
# Enough of a trace's tail to hold its last event line (srv_snapshot lines of
# a big scope are the longest).
TAIL_BYTES = 1 << 20


class TraceClock:
    """Spec seconds since ``epoch`` (wall seconds), scaled by ``scale``; monotone."""

    def __init__(self, *, epoch: float | None = None, scale: float = 1.0,
                 wall: Callable[[], float] = time.time):
        if scale <= 0:
            raise ValueError("time_scale must be positive")
        self._wall = wall
        self.epoch = wall() if epoch is None else epoch
        self.scale = scale
        self._last = float("-inf")

    def not_before(self, t: float) -> None:
        """Never report a time below ``t`` (the last line of a trace being appended to)."""
        self._last = max(self._last, t)

    def __call__(self) -> float:
        t = (self._wall() - self.epoch) * self.scale
        if t < self._last:
            t = self._last
        self._last = t
        return t


class Tracer:
    """Writes server events; a no-op when no target is given."""

    def __init__(self, target: str | IO[bytes] | None, clock: TraceClock, *,
                 meta: dict[str, Any] | None = None):
        self.clock = clock
        self._fh: IO[bytes] | None
        self._owned = isinstance(target, str)
        if isinstance(target, str):
            # Appending after a restart: keep t non-decreasing across the
            # restart even without --trace-epoch ("Events appear in
            # non-decreasing t").
            clock.not_before(_last_t(target))
            self._fh = open(target, "ab")  # noqa: SIM115
        else:
            self._fh = target
        if self._fh is not None and meta is not None and self._fh.tell() == 0:
            self._write({"ev": "meta", "schema": SCHEMA, **meta})

    @property
    def enabled(self) -> bool:
        return self._fh is not None

    def emit(self, ev: str, dev: str | None = None, **fields: Any) -> None:
        if self._fh is None:
            return
        out: dict[str, Any] = {"ev": ev, "t": round(self.clock(), T_DIGITS)}
        if dev is not None:
            out["dev"] = dev
        for k, v in fields.items():
            # "An optional field given as null counts as absent"; assignee is
            # required on dispatch and may be null, so it is always written.
            if v is not None or k == "assignee":
                out[k] = v
        self._write(out)

    def _write(self, obj: dict[str, Any]) -> None:
        assert self._fh is not None
        self._fh.write(orjson.dumps(obj) + b"\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None and self._owned:
            self._fh.close()
        self._fh = None


def _last_t(path: str) -> float:
    """``t`` of the last event line of an existing trace file, or -inf."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - TAIL_BYTES))
            lines = fh.read().splitlines()
    except FileNotFoundError:
        return float("-inf")
    for line in reversed(lines):
        try:
            t = orjson.loads(line).get("t")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if isinstance(t, int | float):
            return float(t)
    return float("-inf")
