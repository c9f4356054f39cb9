"""The sync engine: typed inputs in, actions out, no I/O.

Theory of operation: :class:`Engine` is the whole brain of one device. A
driver (the SimPy fleet, the asyncio client, a Locust user, or
``bench.testing.harness.ScriptedHarness``) calls ``handle(input)`` with
every input stamped with the spec time ``now``; the engine updates its state
and returns the actions to carry out, trace events included. It never reads a
clock: it reports ``next_deadline`` (also as a ``SetTimer`` action) and the
driver feeds ``Tick(now=...)`` then. It never draws random numbers itself: the
timer jitter comes from the ``rng`` given at construction (anything with
``uniform(a, b)``, e.g. ``random.Random(seed)``), so the same seed and inputs
give the same actions.

Each ``handle`` call runs one input handler, then ``_settle``: start a pending
follow-up sync if one may start, start the next file transfer, refresh what the
user sees (``unsent``, ``last_sync``), and refresh the timer. The sync state
machine and the reaction of each policy to each input are tables in
``table.py``; durable state is in ``store.py`` and survives
``to_dict``/``from_dict``. The class is whole: its sync attempts and its file
transfers are sections of it below, each with its theory.

Sync attempts
-------------
``_wish`` applies the reaction table (``table.py``): a
wish either starts a sync at once, becomes the pending follow-up, or is
covered by the sync in flight. ``_start_sync`` builds the request from the
outbox — every unsent change, in the order made, photos once their file is up
("During sync Planado updates all the changes in the jobs with the server") —
and an upload-only sync with nothing to send does not start. An answer acks
changes (each at most once: "a change id seen before is acknowledged again ...
never applied twice"), stores server records unless the sync was upload-only,
moves the cursor, queues attachment downloads and re-arms the timer. A failure
re-arms a bounded backoff instead; the outbox keeps the same change ids, so
the retry cannot apply a change twice.

File transfers
--------------
the queues live in the store (``uploads`` before
``downloads``: the user's own photos first, since a photo change is acked only
after its upload completes and the change referencing it is synced).
``_pump_files`` starts every waiting file whenever the device is running and
the link allows it (``policy.max_transfers``: no cap by default), so no large
file holds another back past rules.md ``files_s``; transfers share the link
anyway, so a queue would only reorder them. The link rules:

- Planado: "on slow internet connection (2G, EDGE, GPRS) ... application won't
  upload photos ... and won't download any attached files", and "Files
  exchange ... will begin as soon as you connect to faster network". So no
  transfer starts on a slow link, and those in progress are aborted the moment
  the link turns slow (rules.md planado.slow_no_files: ``file_end`` within
  ``slow_abort_s``; the engine emits it at once).
- An aborted or failed transfer keeps the bytes it moved (``done``) and
  resumes from there; a failure (not a link change) waits ``file_retry_s``.
- When an upload completes, its photo change becomes sendable and the engine
  wishes a ``file`` sync so the change is acked soon.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from reference_client.engine import inputs as I  # noqa: N812
from reference_client.engine.actions import (
    AbortSync,
    AbortTransfer,
    Action,
    Emit,
    SetTimer,
    ShowLastSync,
    ShowUnsent,
    StartSync,
    StartTransfer,
    maker,
)
from reference_client.engine.inputs import FileDone, FileProgress
from reference_client.engine.store import Change, LocalRecord, Store, Transfer
from reference_client.engine.table import MODE_COVERS, REACTIONS, merge
from reference_client.engine.vocab import (
    APP_TO_RUN_STATE,
    BACKGROUND,
    CLOSED,
    DOWN,
    DOWNLOAD_ONLY,
    OFFLINE,
    PHOTO,
    SLOW_CLASSES,
    STATUS,
    TEXT,
    UP,
    UPLOAD_ONLY,
    WIFI,
    is_slow,
)
from reference_client.policies import PLANADO, Policy, get_policy

# Format tag of Engine.to_dict(), checked by from_dict.
SNAPSHOT_FORMAT = "syncbench.engine/1"


# Frozen, so one serves every engine: most syncs clear the timer as they start.
_NO_TIMER = SetTimer(deadline=None)
# The two actions of every sync, built without the frozen __init__ (actions.maker).
_set_timer = maker(SetTimer)
_start_sync = maker(StartSync)

# Backoff doubling stops here (5 s * 2**16 is far past any cap), so a device
# failing for days never overflows a float.
MAX_BACKOFF_DOUBLINGS = 16


@dataclass(slots=True)
class _InFlight:
    id: str
    trigger: str
    mode: str
    sent: tuple[str, ...]


class Uniform(Protocol):
    """The slice of ``random.Random`` the engine uses."""

    def uniform(self, a: float, b: float) -> float: ...


class Engine:
    """One device's sync brain. See the module docstring and docs/engine.md.

    ``Engine(device="w1", policy=PLANADO, rng=random.Random(7), start=0.0)``

    ``sink``: a driver that carries out every ``Emit`` at once, and none of
    whose other actions emits an event, may take the events as they are made
    instead (``sink(event)``, before ``handle`` returns the other actions):
    the same events in the same order, without an action for each (the
    simulator's fleets, where it is a tenth of a device's cost).

    ``screen=False``: a driver with no screen to show the ``unsent`` count and
    the ``last_sync`` time on gets no ``ShowUnsent``/``ShowLastSync`` actions
    (the ``unsent`` and ``last_sync`` events still go out): the simulator,
    where one of them followed every successful sync only to be passed over.
    """

    # Slots: a fleet of thousands touches one engine per event, and its fields
    # inline in the object are fewer cache lines than a separate values array.
    __slots__ = ("device", "_sink", "_screen", "policy", "_rng", "_now", "store", "_link",
                 "_link_known", "_run", "_n_change", "_n_sync", "_sync", "_pending", "_auto",
                 "_save_at", "_file_retry_at", "_active", "_downloads_stalled", "_failures",
                 "_last_ok", "_shown_unsent", "_shown_last", "_timer", "_out", "_put")

    def __init__(self, *, device: str, policy: Policy = PLANADO, rng: Uniform | None = None,
                 start: float = 0.0, store: Store | None = None,
                 sink: Callable[[dict[str, Any]], None] | None = None,
                 screen: bool = True) -> None:
        if type(device) is not str or not device:
            raise ValueError(f"Engine.device: must be a non-empty string, got {device!r}")
        if not isinstance(policy, Policy):
            raise ValueError(f"Engine.policy: must be a Policy, got {policy!r}")
        if rng is not None and not callable(getattr(rng, "uniform", None)):
            raise ValueError(f"Engine.rng: needs a uniform(a, b) method, got {rng!r}")
        if type(start) not in (int, float) or not math.isfinite(start):
            raise ValueError(f"Engine.start: must be a finite number, got {start!r}")
        if sink is not None and not callable(sink):
            raise ValueError(f"Engine.sink: must be callable, got {sink!r}")
        if type(screen) is not bool:
            raise ValueError(f"Engine.screen: must be True or False, got {screen!r}")
        self.device = device
        self._sink = sink
        # Where the hot events go: ``(self._put or self._event)(ev)``, the sink
        # itself with no method in between (a fleet's event list), else _event.
        self._put = sink
        self._screen = screen
        self.policy = policy
        self._rng = rng
        self._now = float(start)
        self.store = store if store is not None else Store()
        self._link = OFFLINE  # trace.md: "offline before any" link event
        self._link_known = False
        self._run = CLOSED  # trace.md: "closed before any app event"
        self._n_change = 0
        self._n_sync = 0
        self._sync: _InFlight | None = None
        self._pending: tuple[str, str] | None = None
        self._auto: tuple[float, str, str] | None = None  # (at, trigger, mode)
        self._save_at: float | None = None
        self._file_retry_at: float | None = None
        self._active: dict[tuple[str, str], Transfer] = {}  # (file, dir) -> transfer
        self._downloads_stalled = False  # mutant files_never_resume only
        self._failures = 0
        self._last_ok: float | None = None
        self._shown_unsent = 0  # rules.md: "(0 before any)"
        self._shown_last: float | None = None  # rules.md: "(null before any)"
        self._timer: float | None = None
        self._out: list[Action] = []

    def __repr__(self) -> str:
        return (f"Engine(device={self.device!r}, policy={self.policy.name!r}, now={self._now}, "
                f"link={self._link!r}, app={self._run!r}, unsent={self.unsent}, "
                f"syncing={self.syncing!r})")

    # ---- public view --------------------------------------------------------

    @property
    def now(self) -> float:
        return self._now

    @property
    def next_deadline(self) -> float | None:
        """When the driver must feed ``Tick``; None when no timer is set.

        Computed once, at the end of every input (``_settle``, which also says
        it as a ``SetTimer`` when it moves); nothing changes the deadlines
        between inputs, so this is the timer as the last input left it."""
        return self._timer

    @property
    def unsent(self) -> int:
        """Changes the user made that the server has not acked (photos included)."""
        outbox = self.store.outbox
        if not outbox or self.policy.unsent_counts_photos:
            return len(outbox)
        return sum(1 for c in outbox.values() if not c.is_photo)

    @property
    def last_sync(self) -> float | None:
        """End time of the latest successful sync (None: never)."""
        return self._last_ok

    @property
    def syncing(self) -> str | None:
        """The id of the sync in flight, if any."""
        return self._sync.id if self._sync else None

    @property
    def link(self) -> str:
        return self._link

    @property
    def app(self) -> str:
        """``foreground``, ``background`` or ``closed``."""
        return self._run

    def records(self) -> dict[str, int]:
        """The local view, ``{record: version}`` (what a ``snapshot`` event holds)."""
        return self.store.versions()

    # ---- the one entry point ------------------------------------------------

    def handle(self, inp: I.Input) -> list[Action]:
        """Apply one input; return the actions to carry out, in order."""
        handler = _HANDLER_FNS.get(type(inp))
        if handler is None:
            raise TypeError(f"Engine.handle: not an engine input: {inp!r}")
        if inp.now < self._now:
            raise ValueError(f"{type(inp).__name__}.now: {inp.now} is earlier than the "
                             f"engine's time {self._now}")
        self._now = inp.now
        out = self._out = []
        handler(self, inp)
        self._settle()
        return out

    # ---- the trusted driver's entries ---------------------------------------
    # A driver whose inputs come from its own model (the simulator) has nothing
    # to validate: these are ``handle(Tick(...))`` and ``handle(SyncResponse(...))``
    # without building and checking an input object per timer and per answer
    # (with the hot events built in place: 13 % of the instructions of a
    # simulated day). The same handlers run; the same actions
    # come out (tests/client: the trusted entries against handle).

    def tick(self, now: float) -> list[Action]:
        """``handle(Tick(now=now))``, ``now`` trusted."""
        if now < self._now:
            raise ValueError(f"Tick.now: {now} is earlier than the engine's time {self._now}")
        self._now = now
        out = self._out = []
        self._on_tick(None)  # a tick carries nothing but its time
        self._settle()
        return out

    def answer(self, now: float, sync: str, acks: tuple[I.Ack, ...] = (),
               records: tuple[I.ServerRecord, ...] = (), removed: tuple[str, ...] = (),
               files: tuple[I.FileRef, ...] = (), cursor: str | None = None) -> list[Action]:
        """``handle(SyncResponse(now=now, sync=sync, ...))``, every part trusted."""
        if now < self._now:
            raise ValueError(f"SyncResponse.now: {now} is earlier than the engine's time "
                             f"{self._now}")
        self._now = now
        out = self._out = []
        self._answered(sync, acks, records, removed, files, cursor)
        self._settle()
        return out

    # ---- persistence --------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Durable state as JSON-ready dicts (syncs and transfers in flight are not kept)."""
        return {"format": SNAPSHOT_FORMAT, "device": self.device, "policy": self.policy.name,
                "now": self._now, "n_change": self._n_change, "n_sync": self._n_sync,
                "last_ok": self._last_ok, "store": self.store.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, policy: Policy | None = None,
                  rng: Uniform | None = None, start: float | None = None) -> Engine:
        """Restore a device after a restart: app closed, link unknown until told."""
        if d.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"Engine.from_dict: format must be {SNAPSHOT_FORMAT!r}, "
                             f"got {d.get('format')!r}")
        eng = cls(device=d["device"], policy=policy or get_policy(d["policy"]), rng=rng,
                  start=d["now"] if start is None else start, store=Store.from_dict(d["store"]))
        eng._n_change, eng._n_sync, eng._last_ok = d["n_change"], d["n_sync"], d["last_ok"]
        return eng

    # ---- helpers ------------------------------------------------------------

    def _emit(self, ev: str, **fields: Any) -> None:
        e: dict[str, Any] = {"ev": ev, "t": self._now, "dev": self.device}
        if None in fields.values() and ev != "last_sync":  # trace.md: last_sync `at` may be null
            for k, v in fields.items():
                if v is not None:
                    e[k] = v
        else:
            e.update(fields)  # every field set: the common case, one call
        self._event(e)

    def _event(self, e: dict[str, Any]) -> None:
        """Hand out a built event (the hot ones are built in place, no keywords)."""
        if self._sink is not None:
            self._sink(e)
        else:
            self._out.append(Emit(event=e))

    def _jitter(self, a: float, b: float) -> float:
        return self._rng.uniform(a, b) if self._rng is not None else (a + b) / 2

    def _can_sync(self) -> bool:
        return self._run != CLOSED and self._link != OFFLINE

    def _next_change_id(self) -> str:
        self._n_change += 1
        return f"{self.device}-c{self._n_change}"

    # ---- other inputs -------------------------------------------------------

    def _on_tick(self, inp: I.Tick) -> None:
        now, p = self._now, self.policy
        if self._auto is not None and self._auto[0] <= now:
            _, trigger, mode = self._auto
            self._auto = None
            asleep = trigger == "timer" and self._run == BACKGROUND and not p.timer_in_background
            if self._sync is None and self._can_sync() and not asleep:
                self._start_sync(trigger, mode)
        if self._save_at is not None and self._save_at <= now:
            self._save_at = None
            self._wish("save")
        if self._file_retry_at is not None and self._file_retry_at <= now:
            self._file_retry_at = None

    def _became_live(self) -> None:
        """Online and running from now: the planado.cadence idle clock starts."""
        if self._auto is None and self._sync is None:
            self._arm_timer()

    def _on_link(self, inp: I.LinkChanged) -> None:
        old, new = self._link, inp.link_class
        if self._link_known and new == old:
            return
        self._link_known, self._link = True, new
        self._emit("link", **{"class": new})
        self._check_transfer_allowed()
        if self._run != CLOSED and old == OFFLINE and new != OFFLINE:
            self._became_live()
            self._wish("reconnect")

    def _on_app(self, inp: I.AppChanged) -> None:
        self._emit("app", state=inp.state)
        old, new = self._run, APP_TO_RUN_STATE[inp.state]
        self._run = new
        if new == CLOSED:
            if self._sync is not None:
                self._emit("sync_end", sync=self._sync.id, ok=False, error="closed")
                self._out.append(AbortSync(sync=self._sync.id))
                self._sync = None
            self._abort_transfers()
            self._pending = self._auto = self._save_at = self._file_retry_at = None
            return
        if self._link == OFFLINE:
            return
        if old == CLOSED:
            self._became_live()
        if inp.state in ("opened", "restored"):
            self._wish("open")
        elif old == CLOSED:
            self._wish("wake")

    def _on_edit(self, inp: I.UserEdit) -> None:
        p, store = self.policy, self.store
        cid = self._next_change_id()
        # ``fields`` and ``sha256`` let a checker compare what the user saved
        # with what the server holds at the end (the bench's value oracle).
        self._emit("edit", change=cid, record=inp.record, kind=inp.kind,
                   bytes=inp.bytes if inp.kind == PHOTO else None,
                   status=inp.status if inp.kind == STATUS else None,
                   fields=dict(inp.fields) if inp.kind == TEXT and inp.fields else None,
                   sha256=inp.sha256 if inp.kind == PHOTO else None)
        if not p.keep_offline_edits and self._link == OFFLINE:
            return  # mutant drops_offline_edits: the change is forgotten
        rec = store.records.get(inp.record)
        base = rec.version if rec is not None else None
        if rec is None:
            rec = store.records[inp.record] = LocalRecord(version=None)
        fields = dict(inp.fields or {}) if inp.kind == TEXT else (
            {"status": inp.status} if inp.kind == STATUS else {})
        rec.fields.update(fields)
        file = None
        if inp.kind == PHOTO:
            file = {"id": cid, "sha256": inp.sha256, "bytes": inp.bytes}
            store.uploads[cid] = Transfer(file=cid, dir=UP, record=inp.record,
                                          bytes=inp.bytes or 0, sha256=inp.sha256)
        store.outbox[cid] = Change(change=cid, record=inp.record, kind=inp.kind,
                                   base_version=base, fields=fields, file=file, t=self._now,
                                   uploaded=inp.kind != PHOTO)
        if inp.kind == PHOTO:
            return
        if inp.kind == STATUS:
            self._wish("status")
        if p.save_delay_s > 0:
            if self._save_at is None:
                self._save_at = self._now + p.save_delay_s
        else:
            self._wish("save")

    def _on_manual(self, inp: I.ManualSync) -> None:
        self._emit("manual", via=inp.via)
        self._wish("manual")

    def _on_push(self, inp: I.PushReceived) -> None:
        self._emit("push", record=inp.record, reason=inp.reason)
        self._wish("push")

    def _on_snapshot(self, inp: I.SnapshotRequest) -> None:
        self._emit("snapshot", records=self.store.versions(), digests=self.store.digests())

    # ---- after every input --------------------------------------------------

    def _settle(self) -> None:
        if self._sync is None and self._pending is not None and self._can_sync():
            trigger, mode = self._pending
            self._pending = None
            self._start_sync(trigger, mode)
        store = self.store
        if (self._file_retry_at is not None or store.uploads
                or (store.downloads and not self._downloads_stalled)):
            self._pump_files()  # else nothing waits and no retry to clear (most inputs)
        # ``self.unsent``'s common case without the property call (a property is a
        # full call in this interpreter: 2 % of a simulated day's instructions).
        outbox = store.outbox
        n = len(outbox) if not outbox or self.policy.unsent_counts_photos else self.unsent
        if n != self._shown_unsent:
            self._shown_unsent = n
            (self._put or self._event)({"ev": "unsent", "t": self._now, "dev": self.device,
                                        "n": n})
            if self._screen:
                self._out.append(ShowUnsent(n=n))
        last = self._last_ok
        if last != self._shown_last:
            self._shown_last = last
            (self._put or self._event)({"ev": "last_sync", "t": self._now, "dev": self.device,
                                        "at": last})
            if self._screen:
                self._out.append(ShowLastSync(at=last))
        # The next deadline (``next_deadline`` reads it from ``_timer``).
        auto, deadline = self._auto, self._save_at
        if auto is not None and (deadline is None or auto[0] < deadline):
            deadline = auto[0]
        t = self._file_retry_at
        if t is not None and (deadline is None or t < deadline):
            deadline = t
        if deadline is not None and deadline < self._now:
            # A timer that came due with no Tick fed (a driver that fed another
            # input first) is due now, never in the past: a driver sleeping until
            # it would be asked for a negative delay (SimPy refuses one).
            deadline = self._now
        if deadline != self._timer:
            self._timer = deadline
            self._out.append(_set_timer(deadline) if deadline is not None else _NO_TIMER)

    # ---- sync attempts (see "Sync attempts" above) --------------------------

    def _sendable(self) -> list[Change]:
        hold = self.policy.hold_young_s
        return [c for c in self.store.outbox.values()
                if c.uploaded and (hold <= 0 or c.t <= self._now - hold)]

    def _wish(self, name: str) -> None:
        """A reaction wants a sync (table.py): start it, remember it, or drop it."""
        r = REACTIONS[name]
        mode = getattr(self.policy, r.knob)
        if mode is None or not self._can_sync():
            return
        if self._sync is None:
            self._start_sync(r.trigger, mode)
        elif r.strict or mode not in MODE_COVERS[self._sync.mode]:
            self._pending = merge(self._pending, (r.trigger, mode))

    def _start_sync(self, trigger: str, mode: str) -> None:
        changes = [] if mode == DOWNLOAD_ONLY or not self.store.outbox else self._sendable()
        if mode == UPLOAD_ONLY and not changes:
            return  # nothing to upload: an upload-only sync would be empty
        if self._pending is not None and self._pending[1] in MODE_COVERS[mode]:
            self._pending = None
        self._n_sync += 1
        sid = f"{self.device}-s{self._n_sync}"
        self._auto = None  # re-armed when this sync ends
        (self._put or self._event)({"ev": "sync_start", "t": self._now, "dev": self.device,
                                    "sync": sid, "trigger": trigger})
        if not self.policy.sync_on_slow and self._link in SLOW_CLASSES:  # is_slow, inline
            self._emit("sync_end", sync=sid, ok=False, error="deferred: slow link")
            self._after_failure(())
            return
        if changes:
            sent = tuple(c.change for c in changes)
            wire = [c.wire() for c in changes]
        else:
            sent, wire = (), []
        self._sync = _InFlight(sid, trigger, mode, sent)
        request = {"device": self.device, "cursor": self.store.cursor, "mode": mode,
                   "changes": wire}
        self._out.append(_start_sync(sid, trigger, mode, request))

    def _arm_timer(self) -> None:
        p = self.policy
        if p.timer_s is None:
            self._auto = None
            return
        # "every 2 minutes", plus a few seconds of jitter so a fleet spreads out.
        j = p.timer_jitter_s
        rng = self._rng  # self._jitter, inlined: once per sync
        at = self._now + p.timer_s + (rng.uniform(-j, j) if rng is not None else 0.0)
        self._auto = (at, "timer", p.timer_mode)

    def _after_failure(self, sent: tuple[str, ...]) -> None:
        p = self.policy
        self._failures += 1
        if p.last_sync_on_failure:
            self._last_ok = self._now
        if not p.retry_same_ids and sent:
            renamed: dict[str, Change] = {}
            for cid, c in self.store.outbox.items():
                if cid in sent:
                    c.change = self._next_change_id()
                renamed[c.change] = c
            self.store.outbox = renamed
        # Bounded backoff, never later than the regular timer (planado.cadence
        # counts failed attempts as syncs, so a retry is an idle-clock reset).
        doublings = min(self._failures - 1, MAX_BACKOFF_DOUBLINGS)
        delay = min(p.retry_base_s * 2**doublings, p.retry_max_s)
        if p.timer_s is not None:
            delay = min(delay, p.timer_s)
        delay += self._jitter(0.0, delay / 10)
        self._auto = (self._now + delay, "retry", p.retry_mode)

    def _on_sync_response(self, inp: I.SyncResponse) -> None:
        self._answered(inp.sync, inp.acks, inp.records, inp.removed, inp.files, inp.cursor)

    def _answered(self, sync: str, acks: tuple[I.Ack, ...], records: tuple[I.ServerRecord, ...],
                  removed: tuple[str, ...], files: tuple[I.FileRef, ...],
                  cursor: str | None) -> None:
        s = self._sync
        if s is None or sync != s.id:
            return  # an answer to a sync the engine abandoned
        self._sync = None
        store, p = self.store, self.policy
        for ack in acks:
            change = store.outbox.pop(ack.change, None)
            if change is None:
                continue  # acked before: "acknowledged again ... never applied twice"
            self._emit("ack", change=ack.change, version=ack.version)
            rec = store.records.get(ack.record)
            if rec is None:
                if change.base_version is not None:
                    continue  # the record left the device's scope meanwhile
                rec = store.records[ack.record] = LocalRecord(version=None)
            if rec.version is None or ack.version > rec.version:
                rec.version = ack.version
        if s.mode != UPLOAD_ONLY:
            if p.store_records and (records or removed):
                self._store_records(records, removed, s.id)
            if cursor is not None:
                store.cursor = cursor
            if files or removed:
                self._queue_downloads(files, removed)
        (self._put or self._event)({"ev": "sync_end", "t": self._now, "dev": self.device,
                                    "sync": s.id, "ok": True})
        self._failures = 0
        self._last_ok = self._now  # "the time of the last successful synchronization"
        self._arm_timer()

    def _store_records(self, got: tuple[I.ServerRecord, ...], removed: tuple[str, ...],
                       sid: str) -> None:
        records = self.store.records
        limit = self.policy.pull_limit
        for r in got if limit is None else got[:limit]:
            local = records.get(r.id)
            if local is not None and local.version is not None and r.version < local.version:
                continue  # an older copy than the one an ack already gave us
            if local is None or local.version != r.version:
                self._emit("recv", record=r.id, version=r.version, sync=sid)
            records[r.id] = LocalRecord(version=r.version, fields=dict(r.fields),
                                        assignee=r.assignee, type=r.type)
        for rid in removed:
            records.pop(rid, None)

    def _on_sync_failed(self, inp: I.SyncFailed) -> None:
        s = self._sync
        if s is None or inp.sync != s.id:
            return
        self._sync = None
        self._emit("sync_end", sync=s.id, ok=False, error=inp.error)
        self._after_failure(s.sent)

    # ---- file transfers (see "File transfers" above) ------------------------

    def _can_transfer(self) -> bool:
        p, link = self.policy, self._link
        if self._run == CLOSED or link == OFFLINE:
            return False
        if is_slow(link) and not p.files_on_slow:
            return False
        return not (p.files_wifi_only and link != WIFI)

    def _queued(self) -> list[Transfer]:
        """Files waiting to move, in order: the user's photos, then attachments."""
        store = self.store
        waiting = list(store.uploads.values())
        if not self._downloads_stalled:
            waiting += store.downloads.values()
        return [t for t in waiting if (t.file, t.dir) not in self._active]

    def _pump_files(self) -> None:
        store = self.store
        if (self._file_retry_at is None and not store.uploads
                and (self._downloads_stalled or not store.downloads)):
            return  # nothing waits and no retry to clear (most inputs of a day)
        if not self._can_transfer():
            return
        if self._file_retry_at is not None and self._file_retry_at > self._now:
            return
        self._file_retry_at = None
        if not store.uploads and (self._downloads_stalled or not store.downloads):
            return  # nothing waits: no queue to build
        cap = self.policy.max_transfers
        waiting = self._queued()
        if cap is not None:
            waiting = waiting[:max(cap - len(self._active), 0)]
        for nxt in waiting:
            self._active[(nxt.file, nxt.dir)] = nxt
            self._emit("file_start", file=nxt.file, dir=nxt.dir, bytes=nxt.bytes)
            self._out.append(StartTransfer(file=nxt.file, dir=nxt.dir, bytes=nxt.bytes,
                                           offset=nxt.done, record=nxt.record,
                                           sha256=nxt.sha256))

    def _check_transfer_allowed(self) -> None:
        """Abort the transfers in progress if the link no longer allows them."""
        if self._active and not self._can_transfer():
            self._abort_transfers()

    def _abort_transfers(self) -> None:
        for a in list(self._active.values()):
            self._abort_transfer(a)

    def _abort_transfer(self, a: Transfer) -> None:
        del self._active[(a.file, a.dir)]
        self._emit("file_end", file=a.file, dir=a.dir, ok=False, bytes=a.done)
        self._out.append(AbortTransfer(file=a.file, dir=a.dir))
        self._stall_if_mutant(a)

    def _stall_if_mutant(self, a: Transfer) -> bool:
        """Mutant files_never_resume: a cut download stalls every download after it."""
        if a.dir == DOWN and not self.policy.resume_downloads:
            self._downloads_stalled = True
            return True
        return False

    def _on_file_progress(self, inp: FileProgress) -> None:
        a = self._active.get((inp.file, inp.dir))
        if a is not None:
            a.done = max(a.done, min(inp.bytes, a.bytes))

    def _on_file_done(self, inp: FileDone) -> None:
        a = self._active.pop((inp.file, inp.dir), None)
        if a is None:
            return  # a transfer the engine already aborted: its file_end is out
        store = self.store
        if not inp.ok:
            if inp.bytes is not None:
                a.done = max(a.done, min(inp.bytes, a.bytes))
            self._emit("file_end", file=a.file, dir=a.dir, ok=False, bytes=a.done,
                       error=inp.error)
            if not self._stall_if_mutant(a):
                self._file_retry_at = self._now + self.policy.file_retry_s
            return
        self._emit("file_end", file=a.file, dir=a.dir, ok=True,
                   bytes=inp.bytes if inp.bytes is not None else a.bytes)
        if a.dir == UP:
            store.uploads.pop(a.file, None)
            store.have_files.append(a.file)  # the server will list it: no download back
            for c in store.outbox.values():
                if c.file is not None and c.file.get("id") == a.file:
                    c.uploaded = True
            self._wish("file")
        else:
            store.downloads.pop(a.file, None)
            store.have_files.append(a.file)

    def _queue_downloads(self, files: tuple, removed: tuple[str, ...]) -> None:
        store = self.store
        for f in files:
            if f.id not in store.have_files and f.id not in store.downloads:
                store.downloads[f.id] = Transfer(file=f.id, dir=DOWN, record=f.record,
                                                 bytes=f.bytes, sha256=f.sha256)
        gone = set(removed)
        for fid, t in list(store.downloads.items()):
            if t.record in gone:  # the record left the device's scope
                if (fid, DOWN) in self._active:
                    self._abort_transfer(t)
                store.downloads.pop(fid, None)


_HANDLERS: dict[type, str] = {
    I.Tick: "_on_tick",
    I.LinkChanged: "_on_link",
    I.AppChanged: "_on_app",
    I.UserEdit: "_on_edit",
    I.ManualSync: "_on_manual",
    I.PushReceived: "_on_push",
    I.SnapshotRequest: "_on_snapshot",
    I.SyncResponse: "_on_sync_response",
    I.SyncFailed: "_on_sync_failed",
    I.FileProgress: "_on_file_progress",
    I.FileDone: "_on_file_done",
}

# The handlers as functions, looked up once per input type (no getattr per input).
_HANDLER_FNS = {cls: getattr(Engine, name) for cls, name in _HANDLERS.items()}
