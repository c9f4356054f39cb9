"""A deterministic driver for the engine: fake clock, fake server, collected trace.

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

- A sync takes two round trips of the current link (spec/links.md RTTs) and
  is answered by :class:`FakeServer`, an in-memory model of the protocol:
  change ids applied once and re-acked, records created by a change with
  ``base_version: null``, last-writer-wins with a ``stale base`` conflict
  note, a cursor that is a change sequence number, scope by assignee. A sync
  fails when the link went offline while it ran, or during a scripted outage;
  :meth:`ScriptedHarness.lose_responses` makes the server apply and the
  answer vanish.
- Transfers move bytes at the link's rate (spec/links.md), shared equally
  among those in the same direction and re-rated whenever one starts or stops
  or the link class changes; each reports ``FileProgress`` every
  ``PROGRESS_STEP_S``.
- A dispatcher operation assigned to the device sends a push, delivered
  ``push_delay_s`` later when the device is online and running.

Everything — device and server events — lands in ``harness.trace`` as
``syncbench.trace/1`` dicts in time order; ``harness.actions`` keeps every
``(t, action)``. The harness itself uses no clock and no randomness.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from reference_client.engine import actions as A  # noqa: N812
from reference_client.engine import inputs as I  # noqa: N812
from reference_client.engine.core import Engine
from reference_client.engine.vocab import APP_TO_RUN_STATE, CLOSED, OFFLINE, UP

# spec/links.md round trips in seconds; classes it does not list take the
# nearest listed profile (2g -> gprs, hspa -> 3g, 5g -> lte).
RTT_S = {"2g": 0.5, "gprs": 0.5, "edge": 0.84, "3g": 0.2, "hspa": 0.2, "lte": 0.07,
         "5g": 0.07, "wifi": 0.002}
# spec/links.md bandwidths in kbps, down and up.
DOWN_KBPS = {"2g": 50, "gprs": 50, "edge": 240, "3g": 780, "hspa": 780, "lte": 12000,
             "5g": 12000, "wifi": 30000}
UP_KBPS = {"2g": 20, "gprs": 20, "edge": 200, "3g": 330, "hspa": 330, "lte": 12000,
           "5g": 12000, "wifi": 15000}
# How often a running transfer reports progress (resumable offsets are this fine).
PROGRESS_STEP_S = 5.0
# Push latency of the fake push service: within rules.md push_deliver_s (5).
PUSH_DELAY_S = 0.5
# Guard against a driver loop that never advances (a bug, not a scenario).
MAX_STEPS = 200_000


class FakeServer:
    """An in-memory sync server for one or more devices (see module docstring)."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.applied: dict[str, tuple[str, int]] = {}  # change -> (record, version)
        self.files: dict[str, int] = {}  # uploaded file id -> bytes
        self.events: list[dict[str, Any]] = []
        self._seq = 0
        self._left: dict[tuple[str, str], int] = {}  # (dev, record) -> seq it left scope

    def _touch(self, rid: str) -> None:
        self._seq += 1
        self.records[rid]["seq"] = self._seq

    def dispatch(self, now: float, op: str, record: str, assignee: str | None = None, *,
                 status: str | None = None, file: str | None = None,
                 bytes: int | None = None) -> str | None:
        """A web dispatcher operation; returns the device to push to (or None)."""
        rec = self.records.setdefault(record, {"version": 0, "assignee": None, "fields": {},
                                               "files": [], "type": "job", "seq": 0})
        old = rec["assignee"]
        if op in ("assign", "unassign", "create") or assignee is not None:
            rec["assignee"] = None if op == "unassign" else assignee
        if old is not None and old != rec["assignee"]:
            self._left[(old, record)] = self._seq + 1
        if status is not None:
            rec["fields"]["status"] = status
        if op == "attach" and file is not None:
            rec["files"].append({"id": file, "bytes": bytes or 0, "sha256": None})
        rec["version"] += 1
        self._touch(record)
        self.events.append({"ev": "dispatch", "t": now, "op": op, "record": record,
                            "assignee": rec["assignee"], "status": status,
                            "version": rec["version"], "file": file, "bytes": bytes})
        self.events[-1] = {k: v for k, v in self.events[-1].items()
                           if v is not None or k == "assignee"}
        return rec["assignee"]

    def sync(self, now: float, request: dict[str, Any]) -> dict[str, Any]:
        """Answer a ``POST /v1/sync`` body as the protocol describes."""
        dev, mode = request["device"], request["mode"]
        acks = [self._apply(now, dev, c) for c in request["changes"]]
        since = int(request["cursor"] or 0)
        body: dict[str, Any] = {"acks": acks, "cursor": request["cursor"], "server_time": now}
        if mode != "upload":
            mine = [(rid, r) for rid, r in sorted(self.records.items())
                    if r["assignee"] == dev and r["seq"] > since]
            body["records"] = [{"id": rid, "type": r["type"], "version": r["version"],
                                "assignee": dev, "fields": dict(r["fields"]),
                                "files": list(r["files"])} for rid, r in mine]
            body["removed"] = sorted(rid for (d, rid), seq in self._left.items()
                                     if d == dev and seq > since
                                     and self.records[rid]["assignee"] != dev)
            body["files"] = [dict(f, record=rid) for rid, r in mine for f in r["files"]]
            body["cursor"] = str(self._seq)
        return body

    def _apply(self, now: float, dev: str, c: dict[str, Any]) -> dict[str, Any]:
        cid, rid = c["change"], c["record"]
        if cid in self.applied:  # "a change id seen before is acknowledged again"
            rid, version = self.applied[cid]
            return {"change": cid, "record": rid, "version": version, "conflict": None}
        rec = self.records.get(rid)
        if rec is None:  # "base_version: null on a record id the server does not know"
            rec = self.records[rid] = {"version": 0, "assignee": dev, "fields": {},
                                       "files": [], "type": "record", "seq": 0}
        stale = c["base_version"] is not None and c["base_version"] < rec["version"]
        rec["fields"].update(c["fields"])
        if c["file"] is not None:
            rec["files"].append({"id": c["file"]["id"], "bytes": c["file"]["bytes"],
                                 "sha256": c["file"].get("sha256")})
        rec["version"] += 1
        self._touch(rid)
        self.applied[cid] = (rid, rec["version"])
        self.events.append({"ev": "srv_apply", "t": now, "dev": dev, "change": cid,
                            "record": rid, "version": rec["version"]})
        return {"change": cid, "record": rid, "version": rec["version"],
                "conflict": "stale base" if stale else None}

    def snapshot(self, dev: str) -> dict[str, int]:
        return {rid: r["version"] for rid, r in sorted(self.records.items())
                if r["assignee"] == dev}


class ScriptedHarness:
    """Drive one engine through a script. See the module docstring.

    ``h = ScriptedHarness(engine); h.link(0, "wifi"); h.app(0, "opened"); h.run(until=600)``
    """

    def __init__(self, engine: Engine, server: FakeServer | None = None, *,
                 push_delay_s: float = PUSH_DELAY_S) -> None:
        self.engine = engine
        self.server = server if server is not None else FakeServer()
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
            self.at(t + 2 * RTT_S.get(self._link, 1.0), lambda: self._answer(a.sync))
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
        start = t + RTT_S.get(self._link, 1.0)
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
            kbps = (UP_KBPS if x["dir"] == UP else DOWN_KBPS).get(self._link, 1)
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
            self.server.files[xfer["file"]] = xfer["bytes"]
        self._handle(I.FileDone(now=self.now, file=xfer["file"], dir=xfer["dir"], ok=True,
                                bytes=xfer["bytes"]))
