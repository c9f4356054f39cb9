"""The device's side of the trace: JSON Lines, one flushed line per event.

Theory of operation: the engine builds every device event itself (``Emit``
actions, spec/trace.md); this writer only appends them. Each line is written
and flushed at once, so a ``kill -9`` loses at most the line being written and
the file stays valid JSON Lines for everything before it. A fresh (missing or
empty) file gets the ``meta`` line first (spec/trace.md: "Optional first line:
a ``meta`` event"); a file that already holds lines is appended to, since a
restarted device carries on the same run.

The writer refuses an event whose ``t`` is earlier than the last one it wrote
(spec/trace.md: "Events appear in non-decreasing ``t``"): the driver feeds the
engine non-decreasing times, so this only fires on a driver bug.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

SCHEMA = "syncbench.trace/1"  # spec/trace.md title


def meta_event(*, policy: str, seed: int, time_scale: float, settled: bool = False,
               params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``meta`` line (spec/trace.md ``meta``)."""
    return {"ev": "meta", "schema": SCHEMA, "policy": policy, "settled": settled, "seed": seed,
            "time_scale": time_scale, "params": dict(params or {})}


def _last_t(path: Path) -> float | None:
    """The ``t`` of the last event line of an existing trace."""
    last = None
    with path.open("rb") as f:
        for raw in f:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if isinstance(ev, dict) and isinstance(ev.get("t"), (int, float)):
                last = float(ev["t"])
    return last


def _tail_events(path: Path, n: int) -> list[Any]:
    """The last ``n`` lines of a trace, decoded (undecodable lines as None)."""
    lines = [raw for raw in path.read_bytes().split(b"\n") if raw.strip()][-n:]
    out = []
    for raw in lines:
        try:
            out.append(json.loads(raw))
        except ValueError:
            out.append(None)
    return out


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line a ``kill -9`` left unfinished (no newline): half a JSON
    object would make the whole trace invalid, and its event was never complete."""
    with path.open("rb+") as f:
        size = f.seek(0, 2)
        if size == 0:
            return
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        pos = size
        while pos > 0:
            step = min(4096, pos)
            f.seek(pos - step)
            block = f.read(step)
            nl = block.rfind(b"\n")
            if nl >= 0:
                f.truncate(pos - step + nl + 1)
                return
            pos -= step
        f.truncate(0)


class TraceWriter:
    """Append device events to ``path``; ``write(event)`` flushes each line."""

    def __init__(self, path: Path, *, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            _drop_torn_tail(self.path)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self.last_t = None if fresh else _last_t(self.path)
        self._f: TextIO | None = self.path.open("a", encoding="utf-8")
        if fresh:
            self._line(meta)

    def _line(self, event: dict[str, Any]) -> None:
        assert self._f is not None
        self._f.write(json.dumps(event, separators=(",", ":"), ensure_ascii=False) + "\n")
        self._f.flush()

    def write(self, event: dict[str, Any]) -> None:
        if self._f is None:
            raise ValueError(f"trace {self.path}: write after close")
        t = event.get("t")
        if self.last_t is not None and isinstance(t, (int, float)) and t < self.last_t:
            raise ValueError(f"trace {self.path}: event t={t} is earlier than {self.last_t}")
        if isinstance(t, (int, float)):
            self.last_t = float(t)
        self._line(event)

    def complete(self, pending: list[dict[str, Any]]) -> int:
        """Append the events of ``pending`` (the last input's events, committed to the
        store before any was written) that a kill kept out of the file: the file
        ends with some prefix of them. Returns how many were appended."""
        if not pending or self._f is None:
            return 0
        tail = _tail_events(self.path, len(pending))
        written = 0
        for k in range(min(len(tail), len(pending)), 0, -1):
            if tail[len(tail) - k:] == pending[:k]:
                written = k
                break
        for event in pending[written:]:
            head = {k: event[k] for k in ("ev", "t", "dev") if k in event}
            self.write({**head, **event})  # the usual key order, for the eye
        return len(pending) - written

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
