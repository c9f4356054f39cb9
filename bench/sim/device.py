"""The device driver: one sans-I/O engine carried out in simulated time.

Theory of operation: a :class:`Device` owns one ``reference_client`` engine and
is the only thing that calls ``engine.handle``. It turns what happens to the
phone (the link changes, the user acts, a push arrives, a transfer moves
bytes) into engine inputs, and the engine's actions into simulated work::

    link/app/user/push ──> Device.feed(input) ──> engine.handle ──> actions
                                 ^                                   │
        SimPy timeouts: timer ticks, sync answers, transfer ends <───┘

- ``Emit``: the event goes to the fleet's sink (checker, optional trace file).
  The fleet's engines hand their events to that sink as they make them
  (``Engine(sink=...)``), so this serves an engine built without one.
- ``SetTimer``: a SimPy timeout feeds ``Tick`` at the deadline; a newer
  ``SetTimer`` makes older timeouts stale (a generation counter: SimPy
  timeouts cannot be cancelled).
- ``StartSync``: the request crosses the current link up
  (:meth:`LinkProfile.transfer_s`), is applied as the server's queue admits
  it, and the answer crosses down once its worker is done. ``offline``
  refuses the connection (the sync fails at once); ``blackhole`` hangs until
  :data:`SYNC_TIMEOUT_S`; a link that goes offline mid-exchange fails it at
  once (the server may already have applied it: the engine retries under the
  same change ids).
- ``StartTransfer``: bytes flow after half a round trip, transfers in one
  direction sharing its bandwidth equally; a link change re-times the rest at
  the new rate (first telling the engine how
  far it got, so an abort resumes from there), and a link that goes offline
  fails it. Whether a slow link aborts a photo is the engine's decision.

The clock is read as ``env._now`` (the property is a call per read), as
bench.sim.calls already keeps to SimPy 4's internals.

Inputs that answer an action (a refused connection) are fed from a zero-delay
timeout, never from inside ``handle``, so the engine is never re-entered.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from bench.sim.calls import later
from bench.sim.links import BLACKHOLE, OFFLINE, SHAPED, LinkProfile, profiles
from bench.sim.ports import SimFleet
from bench.sim.server import request_bytes
from reference_client.engine.actions import (
    AbortSync,
    AbortTransfer,
    Emit,
    SetTimer,
    ShowLastSync,
    ShowUnsent,
    StartSync,
    StartTransfer,
    maker,
)
from reference_client.engine.inputs import (
    AppChanged,
    FileDone,
    FileProgress,
    LinkChanged,
    ManualSync,
    PushReceived,
    SnapshotRequest,
    SyncFailed,
    UserEdit,
)

if TYPE_CHECKING:
    from reference_client.engine.core import Engine

# A client gives up on a request that hangs this long (OkHttp's default read
# timeout is 10 s, many sync clients use 30 s; a blackholed link hangs until then).
SYNC_TIMEOUT_S = 30.0


# What the user sees: the engine already wrote it to the trace (`unsent`, `last_sync`).
_SHOWN = (ShowUnsent, ShowLastSync)

# The inputs the driver makes, built without their validating constructors
# (actions.maker; fields positional, in the class's order): their values
# come from the simulator's own model and from scenarios the loader has
# checked (bench.scenario.load), "validated once at the trust boundary".
# The engine gets the same objects (tests/sim: maker against the constructor).
_link_changed = maker(LinkChanged)  # now, link_class
_app_changed = maker(AppChanged)  # now, state
_user_edit = maker(UserEdit)  # now, record, kind, fields, status, bytes, sha256
_file_progress = maker(FileProgress)  # now, file, dir, bytes
_file_done = maker(FileDone)  # now, file, dir, ok, bytes, error
_push_received = maker(PushReceived)  # now, record, reason
_sync_failed = maker(SyncFailed)  # now, sync, error


class _Xfer:
    __slots__ = ("file", "dir", "total", "done", "start", "rate", "gen")

    def __init__(self, file: str, dir_: str, total: int, done: float, start: float, rate: float):
        self.file, self.dir, self.total, self.done = file, dir_, total, done
        self.start, self.rate = start, rate
        self.gen = 0  # bumped when a link change re-times the rest

    def moved(self, now: float) -> float:
        m = self.done + (now - self.start) * self.rate if now > self.start else self.done
        return m if m < self.total else self.total


class Device:
    __slots__ = ("fleet", "env", "id", "engine", "rng", "profile", "push_enabled", "stopped",
                 "_gen", "_sync", "_xfers", "_stored", "_emit", "n_syncs", "n_failed")

    def __init__(self, fleet: SimFleet, dev_id: str, engine: Engine, rng: Any, *,
                 push_enabled: bool = True) -> None:
        self.fleet = fleet
        self.env = fleet.env
        self.id = dev_id
        self.engine = engine
        self.rng = rng
        self.profile: LinkProfile = profiles()["offline"]
        self.push_enabled = push_enabled
        self.stopped = False  # behaviour and mobility stop at the settle window
        self._gen = 0
        self._sync: str | None = None
        self._xfers: dict[tuple[str, str], _Xfer] = {}
        self._stored: list[tuple[float, str, str | None]] = []  # store-and-forward pushes
        self._emit = fleet.emit
        self.n_syncs = 0
        self.n_failed = 0

    # ---- feeding the engine ----------------------------------------------------

    def feed(self, inp: Any) -> None:
        """Hand one input to the engine and carry out its actions in order."""
        self._do(self.engine.handle(inp))

    def _do(self, actions: list[Any]) -> None:
        for a in actions:
            t = type(a)
            if t is SetTimer:
                self._gen += 1
                if a.deadline is not None:
                    now = self.env._now
                    delay = a.deadline - now
                    if delay < 0.0:
                        delay = 0.0
                    # SimPy fires at now + delay, which float rounding can put a hair
                    # before the deadline; the engine would then see its timer not due.
                    while now + delay < a.deadline:
                        delay = math.nextafter(delay, math.inf)
                    later(self.env, delay, _TICK, self, self._gen)
            elif t is StartSync:
                self._start_sync(a)
            elif t is Emit:
                self._emit(a.event)
            elif t is AbortSync:
                self._sync = None
            elif t is StartTransfer:
                self._start_transfer(a)
            elif t is AbortTransfer:
                x = self._xfers.pop((a.file, a.dir), None)
                if x is not None:
                    self._retime(x.dir, self.env._now)
            elif t not in _SHOWN:
                # A new kind of action this driver does not carry out: fail loudly
                # rather than simulate a device that silently ignores it.
                raise TypeError(f"bench.sim.device: unknown engine action {a!r}")

    def _tick(self, gen: int) -> None:
        if gen == self._gen:
            # The engine's trusted entry: a tick of the simulator's own clock.
            self._do(self.engine.tick(self.env._now))

    # ---- what happens to the phone ----------------------------------------------

    def set_link(self, name: str) -> None:
        """The phone moved to link profile ``name``; the OS reports its class."""
        p = profiles()[name]
        old, self.profile = self.profile, p
        now = self.env._now
        xs = list(self._xfers.values())
        for x in xs:  # tell the engine how far each got, so an abort resumes there
            x.done = x.moved(now)
            if x.start < now:
                x.start = now
            self.feed(_file_progress(now, x.file, x.dir, int(x.done)))
        self.feed(_link_changed(now, p.link_class))
        sid = self._sync
        if sid is not None and p.mode == OFFLINE:
            # spec/links.md offline: "open ones cut"
            self._sync = None
            self.n_failed += 1
            self.feed(_sync_failed(now, sid, "link lost"))
        elif sid is not None and p.mode == BLACKHOLE:
            later(self.env, SYNC_TIMEOUT_S, self._fail_if, sid, "timeout")
        if self._xfers:
            if p.mode != SHAPED:  # spec/links.md offline: "open ones cut"
                for x in list(self._xfers.values()):
                    self._xfer_failed(x, "link lost")
            else:
                self._retime("up", now)
                self._retime("down", now)
        if p.mode == SHAPED and old.mode != SHAPED and self._stored:
            self._flush_pushes()

    def app(self, state: str) -> None:
        self.feed(_app_changed(self.env._now, state))

    def edit(self, record: str, kind: str, *, status: str | None = None,
             nbytes: int | None = None, text: str | None = None) -> None:
        now = self.env._now
        if kind == "text":
            self.feed(_user_edit(now, record, kind, {"report": text or f"note at {now:.0f}"},
                                 None, None, None))
        elif kind == "status":
            self.feed(_user_edit(now, record, kind, None, status or "started", None, None))
        else:
            self.feed(_user_edit(now, record, kind, None, None, nbytes or 1, None))

    def manual(self, via: str | None = None) -> None:
        self.feed(ManualSync(now=self.env._now, via=via))

    def snapshot(self) -> None:
        self.feed(SnapshotRequest(now=self.env._now))

    def push(self, record: str, reason: str | None, sent_at: float, ttl_s: float,
             force: bool = False) -> bool:
        """A push reaches the phone's OS; False if it was dropped."""
        if not self.push_enabled:
            return False
        if self.profile.mode != SHAPED and not force:
            # "In the offline mode ... you also won't receive push-notifications"
            if ttl_s > 0:
                self._stored.append((sent_at + ttl_s, record, reason))
            return False
        self.feed(_push_received(self.env._now, record, reason))
        return True

    def _flush_pushes(self) -> None:
        now, stored, self._stored = self.env._now, self._stored, []
        for expires, record, reason in stored:
            if expires >= now:
                self.fleet.push_service.n_delivered += 1
                self.feed(_push_received(now, record, reason))

    # ---- syncs -------------------------------------------------------------------

    def _fail_if(self, sid: str, error: str) -> None:
        if self._sync == sid:
            self._sync = None
            self.n_failed += 1
            self.feed(_sync_failed(self.env._now, sid, error))

    def _start_sync(self, a: StartSync) -> None:
        p = self.profile
        self.n_syncs += 1
        self._sync = a.sync
        if p.mode == OFFLINE:
            later(self.env, 0.0, self._fail_if, a.sync, "connection refused")
        elif p.mode == BLACKHOLE:
            later(self.env, SYNC_TIMEOUT_S, self._fail_if, a.sync, "timeout")
        elif p.reset and self.rng.random() < p.reset:
            later(self.env, 2 * p.one_way_s, self._fail_if, a.sync, "connection reset")
        else:
            up = p.transfer_s(request_bytes(a.request), "up", self.rng if p.jitter_s else None)
            later(self.env, up, _ARRIVE, self, a.sync, a.request)

    def _arrive(self, sid: str, request: dict[str, Any]) -> None:
        if self._sync != sid:
            return  # cut on the way up: the server never saw it
        fleet = self.fleet
        now = self.env._now
        if fleet.outages and fleet.in_outage(now):
            later(self.env, self.profile.one_way_s, self._fail_if, sid, "http 503")
            return
        # Admitted and applied as it arrives (the queue is FCFS, so changes are
        # applied in arrival order); the answer leaves when its worker is done.
        # One event less per sync than applying at the end of service.
        _, end = fleet.queue.admit(now)
        body = fleet.server.sync(now, self.id, request)
        p = self.profile
        if p.mode != SHAPED:
            return  # offline already failed it; a blackhole hangs until the timeout
        if fleet.lost_responses and fleet.response_lost(end):
            later(self.env, end - now + p.one_way_s, self._fail_if, sid, "response lost")
            return
        # The link of the moment carries the answer; a change before it leaves
        # is settled in _respond (offline: failed already; blackhole: the timeout).
        down = p.transfer_s(body[5], "down", self.rng if p.jitter_s else None)
        later(self.env, end - now + down, _RESPOND, self, sid, body)

    def _respond(self, sid: str, body: tuple[Any, ...]) -> None:
        if self._sync != sid or self.profile.mode != SHAPED:
            return
        self._sync = None
        acks, records, removed, files, cursor, _ = body
        # The server model builds its acks and records as validated inputs: the
        # answer itself goes in through the engine's trusted entry.
        self._do(self.engine.answer(self.env._now, sid, acks, records, removed, files, cursor))

    # ---- file transfers ------------------------------------------------------------

    def _start_transfer(self, a: StartTransfer) -> None:
        p = self.profile
        now = self.env._now
        x = _Xfer(a.file, a.dir, a.bytes, float(a.offset), now + p.one_way_s, 0.0)
        self._xfers[(a.file, a.dir)] = x
        if p.mode != SHAPED:
            later(self.env, 0.0, self._xfer_failed, x, "connection refused")
            return
        self._retime(a.dir, now)

    def _retime(self, direction: str, now: float) -> None:
        """Share the direction's bandwidth equally among its transfers, from ``now``."""
        p = self.profile
        if p.mode != SHAPED:
            return
        group = [x for x in self._xfers.values() if x.dir == direction]
        if not group:
            return
        rate = (p.up_bps if direction == "up" else p.down_bps) / len(group)
        for x in group:
            x.done = x.moved(now)
            if x.start < now:
                x.start = now
            x.rate = rate
            x.gen += 1
            end = x.start + (x.total - x.done) / rate
            later(self.env, end - now, _XFER_END, self, x, x.gen)

    def _drop_xfer(self, x: _Xfer) -> bool:
        if self._xfers.get((x.file, x.dir)) is not x:
            return False
        del self._xfers[(x.file, x.dir)]
        return True

    def _xfer_failed(self, x: _Xfer, error: str) -> None:
        if self._drop_xfer(x):
            self.feed(_file_done(self.env._now, x.file, x.dir, False, int(x.done), error))

    def _xfer_end(self, x: _Xfer, gen: int) -> None:
        if x.gen != gen or not self._drop_xfer(x):
            return  # aborted, or re-timed since
        now = self.env._now
        self._retime(x.dir, now)
        if x.dir == "up":
            self.fleet.server.file_uploaded(x.file)
        self.fleet.bytes_moved += x.total
        self.feed(_file_done(now, x.file, x.dir, True, x.total, None))


# The calls every sync schedules, as plain functions with the device as their
# first argument: ``self._tick`` would build a bound method at each schedule
# and another argument tuple at each call (bench.sim.calls).
_TICK = Device._tick
_ARRIVE = Device._arrive
_RESPOND = Device._respond
_XFER_END = Device._xfer_end
