"""A deterministic driver for the engine: fake clock, the simulator's server, collected trace.

Theory of operation: :class:`ScriptedHarness` is the smallest complete driver
of one :class:`~reference_client.engine.Engine`. It keeps a queue of timed
happenings — scripted inputs (link, app, edits, manual syncs, dispatcher
operations, outages), the engine's timer, sync answers, transfer progress —
and pops them in time order (ties in the order they were queued), feeding the
engine and carrying out its actions:

    script ──> queue ──> engine.handle(input) ──> actions
                 ^                                   │
                 └── sync answers, file progress, ───┘
                     timer ticks, pushes

- A sync takes two round trips of the current link and is answered by
  :class:`ModelServer`: the simulator's server model (``bench.sim.server``,
  held to the reference server's core by a differential test) answering in
  the protocol's JSON. A sync fails when the link went offline while it ran,
  or during a scripted outage; :meth:`ScriptedHarness.lose_responses` makes
  the server apply and the answer vanish.
- Transfers move bytes at the link's rate, shared equally among those in the
  same direction and re-rated whenever one starts or stops or the link class
  changes; each reports ``FileProgress`` every ``PROGRESS_STEP_S``. Round
  trips and rates are the one profile table's (``bench.link.profiles``), a
  link class taking its profile (``2g`` -> gprs, ``hspa`` -> 3g, ``5g`` -> lte).
- A dispatcher operation assigned to the device sends a push, delivered
  ``push_delay_s`` later when the device is online and running.

Everything — device and server events — lands in ``harness.trace`` as
``syncbench.trace/1`` dicts in time order; ``harness.actions`` keeps every
``(t, action)``. The harness itself uses no clock and no randomness.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable
from typing import Any

from bench.link.profiles import get_profile
from bench.sim.server import ServerModel
from reference_client.engine import actions as A  # noqa: N812
from reference_client.engine import inputs as I  # noqa: N812
from reference_client.engine.core import Engine
from reference_client.engine.vocab import APP_TO_RUN_STATE, CLOSED, OFFLINE, UP

# The profile a link class is timed by.
CLASS_PROFILE = {"2g": "gprs", "gprs": "gprs", "edge": "edge", "3g": "3g", "hspa": "3g",
                 "lte": "lte", "5g": "lte", "wifi": "wifi"}
# How often a running transfer reports progress (resumable offsets are this fine).
PROGRESS_STEP_S = 5.0
# Push latency of the fake push service: within rules.md push_deliver_s (5).
PUSH_DELAY_S = 0.5
# Guard against a driver loop that never advances (a bug, not a scenario).
MAX_STEPS = 200_000


@functools.cache
def _numbers(link_class: str) -> tuple[float, float, float]:
    """(round trip s, down kbps, up kbps) of a link class; unknown: 1 s, 1 kbps."""
    name = CLASS_PROFILE.get(link_class)
    if name is None:
        return 1.0, 1.0, 1.0
    p = get_profile(name)
    return p.rtt_ms / 1000, p.down_kbps, p.up_kbps


def rtt_s(link_class: str) -> float:
    return _numbers(link_class)[0]


class ModelServer:
    """The simulator's server model with the protocol's JSON answers and a trace list."""

    def __init__(self, devices: tuple[str, ...] = ()) -> None:
        self.events: list[dict[str, Any]] = []
        self.model = ServerModel(emit=self.events.append, devices=devices)
        self.files: dict[str, int] = {}  # uploaded file id -> bytes

    def dispatch(self, now: float, op: str, record: str, assignee: str | None = None, *,
                 status: str | None = None, file: str | None = None,
                 bytes: int | None = None) -> str | None:
        """A web dispatcher operation; returns the device to push to (or None)."""
        targets = self.model.dispatch(now, op, record, assignee, status=status, file=file,
                                      nbytes=bytes)
        return targets[0] if targets else None

    def sync(self, now: float, request: dict[str, Any]) -> dict[str, Any]:
        """Answer a ``POST /v1/sync`` body as the protocol describes."""
        acks, recs, removed, files, cursor, _ = self.model.sync(now, request["device"], request)
        body: dict[str, Any] = {
            "acks": [{"change": a.change, "record": a.record, "version": a.version,
                      "conflict": a.conflict} for a in acks],
            "cursor": cursor, "server_time": now}
        if request["mode"] != "upload":
            body["records"] = [{"id": r.id, "type": r.type, "version": r.version,
                                "assignee": r.assignee, "fields": dict(r.fields),
                                "files": [dict(f) for f in r.files]} for r in recs]
            body["removed"] = sorted(removed)
            by_id = {f["id"]: f for r in recs for f in r.files}
            body["files"] = [{"id": f.id, "bytes": f.bytes, "sha256": by_id[f.id].get("sha256"),
                              "record": f.record} for f in files]
        return body

    def file_uploaded(self, file: str, nbytes: int) -> None:
        self.files[file] = nbytes
        self.model.file_uploaded(file)

    def snapshot(self, dev: str) -> dict[str, int]:
        records = self.model.records
        return {rid: records[rid].version for rid in sorted(self.model.scope.get(dev, {}))}


class ScriptedHarness:
    """Drive one engine through a script. See the module docstring.

    ``h = ScriptedHarness(engine); h.link(0, "wifi"); h.app(0, "opened"); h.run(until=600)``
    """

    def __init__(self, engine: Engine, server: ModelServer | None = None, *,
                 push_delay_s: float = PUSH_DELAY_S) -> None:
        self.engine = engine
        self.server = server if server is not None else ModelServer()
        self.push_delay_s = push_delay_s
        self.trace: list[dict[str, Any]] = []
        self.actions: list[tuple[float, A.Action]] = []
        self.now = engine.now
        self._q: list[tuple[float, int, Callable[[], None]]] = []
        self._n = 0
        self._link = OFFLINE
        self._run = CLOSED
        self._outages: list[tuple[float, float, bool]] = []  # (from, to, applied)
        self._sync: tuple[str, dict[str, Any], bool] | None = None  # id, request, cut
        self._xfers: dict[tuple[str, str], dict[str, Any]] = {}  # (file, dir) -> transfer
        self._timer_gen = 0
        self._n_srv = 0

    # ---- scripting ------------------------------------------------------------

    def at(self, t: float, fn: Callable[[], None]) -> ScriptedHarness:
        self._n += 1
        heapq.heappush(self._q, (t, self._n, fn))
        return self

    def feed(self, inp: I.Input) -> ScriptedHarness:
        """Queue an input at its own ``now``."""
        return self.at(inp.now, lambda: self._handle(inp))

    def link(self, t: float, link_class: str) -> ScriptedHarness:
        return self.feed(I.LinkChanged(now=t, link_class=link_class))

    def app(self, t: float, state: str) -> ScriptedHarness:
        return self.feed(I.AppChanged(now=t, state=state))

    def edit(self, t: float, record: str, kind: str, **kw: Any) -> ScriptedHarness:
        if kind == "text" and "fields" not in kw:
            kw["fields"] = {"note": f"edit at {t}"}
        return self.feed(I.UserEdit(now=t, record=record, kind=kind, **kw))

    def manual(self, t: float) -> ScriptedHarness:
        return self.feed(I.ManualSync(now=t))

    def push(self, t: float, record: str) -> ScriptedHarness:
        return self.feed(I.PushReceived(now=t, record=record))

    def snapshot(self, t: float) -> ScriptedHarness:
        """Device ``snapshot`` and server ``srv_snapshot`` at ``t``."""
        def both() -> None:
            self._handle(I.SnapshotRequest(now=t))
            self.trace.append({"ev": "srv_snapshot", "t": t, "dev": self.engine.device,
                               "records": self.server.snapshot(self.engine.device)})
        return self.at(t, both)

    def dispatch(self, t: float, op: str, record: str, assignee: str | None = None,
                 **kw: Any) -> ScriptedHarness:
        def do() -> None:
            dev = self.server.dispatch(t, op, record, assignee, **kw)
            self._drain_server()
            if dev == self.engine.device:
                self.trace.append({"ev": "srv_push", "t": t, "dev": dev, "record": record})
                self.at(t + self.push_delay_s, lambda: self._deliver_push(record))
        return self.at(t, do)

    def outage(self, t0: float, t1: float) -> ScriptedHarness:
        """Syncs answered in [t0, t1) fail (HTTP 503); nothing is applied."""
        self._outages.append((t0, t1, False))
        return self

    def lose_responses(self, t0: float, t1: float) -> ScriptedHarness:
        """Syncs answered in [t0, t1) are applied, but the answer never arrives."""
        self._outages.append((t0, t1, True))
        return self

    def run(self, until: float) -> ScriptedHarness:
        """Process everything due up to and including ``until``."""
        for _ in range(MAX_STEPS):
            if not self._q or self._q[0][0] > until:
                self.now = max(self.now, until)
                return self
            t, _, fn = heapq.heappop(self._q)
            self.now = t
            fn()
        raise RuntimeError(f"ScriptedHarness: more than {MAX_STEPS} steps before t={until}")

    def events(self, ev: str | None = None, **match: Any) -> list[dict[str, Any]]:
        """Trace events of kind ``ev`` whose fields equal ``match``."""
        return [e for e in self.trace if (ev is None or e["ev"] == ev)
                and all(e.get(k) == v for k, v in match.items())]

    # ---- carrying out actions ---------------------------------------------------

    def _handle(self, inp: I.Input) -> None:
        if isinstance(inp, I.LinkChanged):
            self._link = inp.link_class
            if self._sync is not None and inp.link_class == OFFLINE:
                self._sync = (self._sync[0], self._sync[1], True)
            if inp.link_class != OFFLINE:
                self._rebalance(inp.now)
        if isinstance(inp, I.AppChanged):
            self._run = APP_TO_RUN_STATE[inp.state]
        for action in self.engine.handle(inp):
            self.actions.append((inp.now, action))
            self._do(inp.now, action)

    def _drain_server(self) -> None:
        self.trace.extend(self.server.events[self._n_srv:])
        self._n_srv = len(self.server.events)

    def _deliver_push(self, record: str) -> None:
        if self._link != OFFLINE and self._run != CLOSED:
            self._handle(I.PushReceived(now=self.now, record=record))

    def _do(self, t: float, a: A.Action) -> None:
        if isinstance(a, A.Emit):
            self.trace.append(a.event)
        elif isinstance(a, A.StartSync):
            self._sync = (a.sync, a.request, False)
            self.at(t + 2 * rtt_s(self._link), lambda: self._answer(a.sync))
        elif isinstance(a, A.AbortSync):
            self._sync = None
        elif isinstance(a, A.SetTimer):
            self._timer_gen += 1
            gen = self._timer_gen
            if a.deadline is not None:
                self.at(a.deadline, lambda: self._tick(gen))
        elif isinstance(a, A.StartTransfer):
            self._start_transfer(t, a)
        elif isinstance(a, A.AbortTransfer):
            self._xfers.pop((a.file, a.dir), None)
            self._rebalance(t)

    def _tick(self, gen: int) -> None:
        if gen == self._timer_gen:
            self._handle(I.Tick(now=self.now))

    def _answer(self, sid: str) -> None:
        if self._sync is None or self._sync[0] != sid:
            return
        _, request, cut = self._sync
        self._sync = None
        if cut or self._link == OFFLINE:
            self._handle(I.SyncFailed(now=self.now, sync=sid, error="link lost"))
            return
        window = next((w for w in self._outages if w[0] <= self.now < w[1]), None)
        if window is not None and not window[2]:
            self._handle(I.SyncFailed(now=self.now, sync=sid, error="http 503"))
            return
        body = self.server.sync(self.now, request)
        self._drain_server()
        if window is not None:
            self._handle(I.SyncFailed(now=self.now, sync=sid, error="response lost"))
            return
        self._handle(I.SyncResponse.from_json(now=self.now, sync=sid, body=body))

    def _start_transfer(self, t: float, a: A.StartTransfer) -> None:
        start = t + rtt_s(self._link)
        self._xfers[(a.file, a.dir)] = {"file": a.file, "dir": a.dir, "offset": a.offset,
                                        "bytes": a.bytes, "start": start, "rate": 0.0}
        self._rebalance(t)

    def _rebalance(self, t: float) -> None:
        """Transfers in one direction share the link's rate equally; whenever one
        starts or stops, or the link class changes, the rest move at the new share."""
        old = list(self._xfers.values())
        per_dir = {d: sum(1 for x in old if x["dir"] == d) for d in ("up", "down")}
        for x in old:
            moved = self._moved(x, t) if t > x["start"] else x["offset"]
            _, down, up = _numbers(self._link)
            kbps = up if x["dir"] == UP else down
            rate = kbps * 1000 / 8 / per_dir[x["dir"]]  # bytes per second
            self._schedule_transfer(dict(x, offset=moved, start=max(t, x["start"]), rate=rate))

    def _schedule_transfer(self, xfer: dict[str, Any]) -> None:
        self._xfers[(xfer["file"], xfer["dir"])] = xfer
        end = xfer["start"] + (xfer["bytes"] - xfer["offset"]) / xfer["rate"]
        step = xfer["start"] + PROGRESS_STEP_S
        while step < end:
            self.at(step, lambda s=step: self._progress(xfer, s))
            step += PROGRESS_STEP_S
        self.at(end, lambda: self._finish(xfer))

    def _moved(self, xfer: dict[str, Any], t: float) -> int:
        done = xfer["offset"] + int(max(0.0, t - xfer["start"]) * xfer["rate"])
        return min(xfer["bytes"], done)

    def _progress(self, xfer: dict[str, Any], t: float) -> None:
        if self._xfers.get((xfer["file"], xfer["dir"])) is xfer:
            self._handle(I.FileProgress(now=t, file=xfer["file"], dir=xfer["dir"],
                                        bytes=self._moved(xfer, t)))

    def _finish(self, xfer: dict[str, Any]) -> None:
        key = (xfer["file"], xfer["dir"])
        if self._xfers.get(key) is not xfer:
            return
        del self._xfers[key]
        self._rebalance(self.now)
        if xfer["dir"] == UP:
            self.server.file_uploaded(xfer["file"], xfer["bytes"])
        self._handle(I.FileDone(now=self.now, file=xfer["file"], dir=xfer["dir"], ok=True,
                                bytes=xfer["bytes"]))
