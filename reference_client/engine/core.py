"""The sync engine: typed inputs in, actions out, no I/O.

Theory of operation: :class:`Engine` is the whole brain of one device. A
driver (the SimPy fleet, the asyncio client, a Locust user, or
``reference_client.testing.ScriptedHarness``) calls ``handle(input)`` with
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
``table.py``; file transfers are in ``files.py``; durable state is in
``store.py`` and survives ``to_dict``/``from_dict``.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

from reference_client.engine import inputs as I  # noqa: N812
from reference_client.engine.actions import (
    AbortSync,
    Action,
    Emit,
    SetTimer,
    ShowLastSync,
    ShowUnsent,
)
from reference_client.engine.files import FilesMixin
from reference_client.engine.store import Change, LocalRecord, Store, Transfer
from reference_client.engine.syncs import SyncsMixin, _InFlight
from reference_client.engine.vocab import (
    APP_TO_RUN_STATE,
    BACKGROUND,
    CLOSED,
    OFFLINE,
    PHOTO,
    STATUS,
    TEXT,
    UP,
)
from reference_client.policies import PLANADO, Policy, get_policy

# Format tag of Engine.to_dict(), checked by from_dict.
SNAPSHOT_FORMAT = "syncbench.engine/1"


class Uniform(Protocol):
    """The slice of ``random.Random`` the engine uses."""

    def uniform(self, a: float, b: float) -> float: ...


class Engine(SyncsMixin, FilesMixin):
    """One device's sync brain. See the module docstring and docs/engine.md.

    ``Engine(device="w1", policy=PLANADO, rng=random.Random(7), start=0.0)``
    """

    def __init__(self, *, device: str, policy: Policy = PLANADO, rng: Uniform | None = None,
                 start: float = 0.0, store: Store | None = None) -> None:
        if type(device) is not str or not device:
            raise ValueError(f"Engine.device: must be a non-empty string, got {device!r}")
        if not isinstance(policy, Policy):
            raise ValueError(f"Engine.policy: must be a Policy, got {policy!r}")
        if rng is not None and not callable(getattr(rng, "uniform", None)):
            raise ValueError(f"Engine.rng: needs a uniform(a, b) method, got {rng!r}")
        if type(start) not in (int, float) or not math.isfinite(start):
            raise ValueError(f"Engine.start: must be a finite number, got {start!r}")
        self.device = device
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
        """When the driver must feed ``Tick``; None when no timer is set."""
        times = [t for t in (self._auto and self._auto[0], self._save_at, self._file_retry_at)
                 if t is not None]
        return min(times) if times else None

    @property
    def unsent(self) -> int:
        """Changes the user made that the server has not acked (photos included)."""
        if self.policy.unsent_counts_photos:
            return len(self.store.outbox)
        return sum(1 for c in self.store.outbox.values() if not c.is_photo)

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
        handler = _HANDLERS.get(type(inp))
        if handler is None:
            raise TypeError(f"Engine.handle: not an engine input: {inp!r}")
        if inp.now < self._now:
            raise ValueError(f"{type(inp).__name__}.now: {inp.now} is earlier than the "
                             f"engine's time {self._now}")
        self._now = inp.now
        self._out = []
        getattr(self, handler)(inp)
        self._settle()
        out, self._out = self._out, []
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
        for k, v in fields.items():
            if v is not None or k == "at":  # trace.md: last_sync `at` may be null
                e[k] = v
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
        self._emit("edit", change=cid, record=inp.record, kind=inp.kind,
                   bytes=inp.bytes if inp.kind == PHOTO else None,
                   status=inp.status if inp.kind == STATUS else None)
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
        self._emit("snapshot", records=self.store.versions())

    # ---- after every input --------------------------------------------------

    def _settle(self) -> None:
        if self._sync is None and self._pending is not None and self._can_sync():
            trigger, mode = self._pending
            self._pending = None
            self._start_sync(trigger, mode)
        self._pump_files()
        n = self.unsent
        if n != self._shown_unsent:
            self._shown_unsent = n
            self._emit("unsent", n=n)
            self._out.append(ShowUnsent(n=n))
        if self._last_ok != self._shown_last:
            self._shown_last = self._last_ok
            self._emit("last_sync", at=self._last_ok)
            self._out.append(ShowLastSync(at=self._last_ok))
        deadline = self.next_deadline
        if deadline != self._timer:
            self._timer = deadline
            self._out.append(SetTimer(deadline=deadline))


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
