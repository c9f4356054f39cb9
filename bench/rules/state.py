"""Derived state the rules share (trace.md, "Derived state the rules use").

Theory of operation: one :class:`Context` per check holds, per device, the
link class, app state, syncs in progress and unsent changes, and, per record,
the assignee history that the scope rules need. The checker applies each event
to the context *before* the rules see it, so a rule's handler reads the state
"at or before t" including the event itself. Memory grows with devices,
records and open windows, not with the length of the trace.

The context is also the clock: rules schedule :class:`~bench.rules.window.Window`
deadlines, and the checker fires every deadline strictly earlier than the next
event's ``t``, in (deadline, order scheduled) order. Most windows are closed
within the instant that opened them (a display corrected by the event that
follows, a push answered at once): a window joins the heap only when the clock
moves past its instant with the window still open, so those never touch it.
Closed windows stay in the heap and are skipped when popped (lazy cancel).
"""

from __future__ import annotations

import heapq
from typing import Any

from bench.rules.window import Window
from bench.trace.schema import SLOW_CLASSES


class DeviceState:
    __slots__ = (
        "dev", "link", "prev_link", "app", "syncs", "unsent", "online", "running", "active",
        "running_since", "sync_ended_at", "ended", "sync_waiters", "own",
    )

    def __init__(self, dev: str, own: int = 0) -> None:
        self.dev = dev
        self.link = "offline"  # "offline before any" link event
        self.prev_link = "offline"
        self.app = "closed"  # "closed before any app event"
        self.syncs: dict[str, tuple[float, str]] = {}  # in progress: id -> (t, trigger)
        self.unsent: dict[str, float] = {}  # change -> t of the edit, until acked
        self.online = False
        self.running = False
        self.active = False  # online and running
        self.running_since: float | None = None
        self.sync_ended_at: float | None = None
        self.ended: tuple[float, str] | None = None  # (start t, trigger) of the sync that just ended
        # Rules waiting for this device's next sync_start/sync_end (bench.rules.respond):
        # they subscribe while they wait, so a device nobody waits on costs its syncs nothing.
        self.sync_waiters: list = []
        # The rules' own state for this device, one place per rule that asked
        # (Context.own_slot): read through the device the step already holds,
        # not through a dict per rule keyed by device.
        self.own: list = [None] * own

    @property
    def slow(self) -> bool:
        return self.link in SLOW_CLASSES

    @property
    def fast(self) -> bool:
        return self.online and self.link not in SLOW_CLASSES

    @property
    def syncing(self) -> bool:
        return bool(self.syncs)


class RecordState:
    """Assignee history of one record, enough to answer "was D the assignee at
    some time in [t - slack, t]"."""

    __slots__ = ("assignee", "since", "ended")

    def __init__(self) -> None:
        self.assignee: str | None = None
        self.since = 0.0
        self.ended: dict[str, float] = {}  # device -> when its last stint ended

    def assigned_within(self, dev: str, lo: float) -> bool:
        """Was ``dev`` the assignee at some time in ``[lo, now]``?

        rules.md: "that record to have had this device as assignee at some time
        in [t - scope_slack_s, t]". A stint that ended by a dispatch at exactly
        ``lo`` counts: the stint is taken as closed at the dispatch that ends it,
        so a recv or push exactly scope_slack_s after the reassignment is within
        the tolerance (the bench's boundaries are inclusive, "t <= t_E + X"),
        and one a step later is not.
        """
        if self.assignee == dev:
            return True
        end = self.ended.get(dev)
        return end is not None and end >= lo


class Context:
    def __init__(self, meta: dict[str, Any] | None = None) -> None:
        self.meta = meta or {}
        self.devices: dict[str, DeviceState] = {}
        self.records: dict[str, RecordState] = {}
        self.any_dispatch = False
        self.any_srv_apply = False
        # The bench's end-of-run reading of records through the server's API:
        # the value oracle of core.no_loss and core.exactly_once's black-box form.
        self.any_srv_record = False
        self.now = float("-inf")
        self._heap: list[tuple[float, int, Window]] = []
        self._fresh: list[Window] = []  # scheduled within the current instant
        self.instant_end: list = []  # called once the current instant is over (at_instant_end)
        self._seq = 0
        self._own = 0

    def own_slot(self) -> int:
        """A place in every device's ``DeviceState.own`` for one rule's per-device
        state. Asked in a rule's constructor, before the first event: in a
        fleet of thousands, each event then finds its rules' state on the device's
        state, one lookup, instead of one lookup per rule in dicts of thousands."""
        if self.devices:
            raise RuntimeError("Context.own_slot: asked after the first device")
        self._own += 1
        return self._own - 1

    @property
    def settled(self) -> bool:
        return self.meta.get("settled") is True

    def device(self, dev: str) -> DeviceState:
        ds = self.devices.get(dev)
        if ds is None:
            ds = self.devices[dev] = DeviceState(dev, self._own)
        return ds

    # -- the clock ------------------------------------------------------------
    def schedule(self, w: Window) -> None:
        self._seq += 1
        w.seq = self._seq  # its place among equal deadlines: the order scheduled
        self._fresh.append(w)

    def at_instant_end(self, fn) -> None:
        """Call ``fn()`` once the clock moves past the current instant, before
        any deadline fires: a rule settles there what the instant left pending
        (a display still wrong after every event of the instant)."""
        self.instant_end.append(fn)

    def fire_before(self, t: float) -> None:
        """Expire every open window whose deadline is strictly before ``t``."""
        settle = self.instant_end
        if settle:
            fns = tuple(settle)
            settle.clear()
            for fn in fns:
                fn()
        heap = self._heap
        fresh = self._fresh
        if fresh:
            # The instant is over: what it left open waits on the heap.
            push = heapq.heappush
            for w in fresh:
                if w.open:
                    push(heap, (w.deadline, w.seq, w))
            fresh.clear()
        while heap and heap[0][0] < t:
            _, _, w = heapq.heappop(heap)
            if w.open:
                w.open = False
                w.on_expire(w)

    @property
    def pending(self) -> int:
        return len(self._heap) + len(self._fresh)
