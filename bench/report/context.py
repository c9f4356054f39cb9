"""The trace lines around each violation, gathered in one streaming pass.

Theory of operation
-------------------
A violation names a time and a device; a reader wants to see what that device
did just before and after. :func:`gather_context` walks the trace once,
keeping for every device a ring of its last ``before`` lines. Targets (the
violations to illustrate, sorted by time) are *opened* when the walk first
reaches an event later than their ``t``: their "before" lines are the ring at
that moment (the device's events at or before ``t``); they then collect the
device's next ``after`` lines and close. Memory is bounded by devices times
``before`` plus the open targets, whatever the trace's length.

A ``dispatch`` has no ``dev``; it is shown in the context of the device it is
assigned to, since a dispatcher's change is often what a violation is about.
A violation without a device (``dev`` null) gets the lines of all devices.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import orjson

# "a few events of that device before/after the violation's t".
CONTEXT_BEFORE = 4
CONTEXT_AFTER = 3
# "for at most, say, the first 20 violations per rule".
MAX_VIOLATIONS_PER_RULE = 20


@dataclass(slots=True, kw_only=True)
class Context:
    """Lines around one violation: ``(line number, text)`` each."""

    t: float
    dev: str | None
    before: list[tuple[int, str]] = field(default_factory=list)
    after: list[tuple[int, str]] = field(default_factory=list)


def _owner(ev: dict) -> str | None:
    if ev.get("ev") == "dispatch":
        a = ev.get("assignee")
        return a if isinstance(a, str) else None
    d = ev.get("dev")
    return d if isinstance(d, str) else None


def gather_context(path: str | Path, targets: list[tuple[float, str | None]], *,
                   before: int = CONTEXT_BEFORE, after: int = CONTEXT_AFTER) -> dict[tuple[float, str | None], Context]:
    """Context for each ``(t, dev)`` in ``targets`` from the trace at ``path``.

    Lines that are not events (blank, meta, undecodable) are skipped; the
    trace is expected to be valid already (it was checked).
    """
    wanted = sorted(set(targets), key=lambda k: (k[0], k[1] or ""))
    out: dict[tuple[float, str | None], Context] = {k: Context(t=k[0], dev=k[1]) for k in wanted}
    if not wanted:
        return out
    rings: dict[str | None, deque] = {}
    everyone: deque = deque(maxlen=before)
    collecting: list[Context] = []
    nxt = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                ev = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if type(ev) is not dict or ev.get("ev") == "meta":
                continue
            t = ev.get("t")
            if type(t) not in (int, float):
                continue
            while nxt < len(wanted) and wanted[nxt][0] < t:
                ctx = out[wanted[nxt]]
                ring = everyone if ctx.dev is None else rings.get(ctx.dev, ())
                ctx.before = list(ring)
                collecting.append(ctx)
                nxt += 1
            owner = _owner(ev)
            item = (lineno, raw.decode("utf-8", "replace").rstrip("\r\n"))
            if collecting:
                still = []
                for ctx in collecting:
                    if ctx.dev is None or ctx.dev == owner:
                        ctx.after.append(item)
                    if len(ctx.after) < after:
                        still.append(ctx)
                collecting = still
            if nxt >= len(wanted) and not collecting:
                break
            everyone.append(item)
            if owner is not None:
                ring = rings.get(owner)
                if ring is None:
                    ring = rings[owner] = deque(maxlen=before)
                ring.append(item)
    # Targets at or past the last event: everything seen is "before".
    for key in wanted[nxt:]:
        ctx = out[key]
        ctx.before = list(everyone if ctx.dev is None else rings.get(ctx.dev, ()))
    return out
