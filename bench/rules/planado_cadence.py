"""planado.cadence: never idle longer than the interval plus tolerance.

Theory: an idle stretch starts when the device becomes online and running
with no sync in progress, or at a ``sync_end`` (ok or not: "failed attempts
count as syncs") that leaves no sync in progress while online and running; it
ends at the next ``sync_start`` (judged: pass) or when the device stops being
online and running (cut: not judged). A stretch still idle strictly after
start + interval_s + cadence_tol_s is one violation ("One violation per idle
stretch"), however long it lasts afterwards. Minimized counts as running
("even if app is minimized"), so foreground <-> background changes neither
start nor end a stretch.

Lazy deadline: a stretch is one small record per device, not a window on the
checker's clock, because nearly every stretch is ended by the device's next
sync_start, two minutes on. Whether it outlived its limit is decided at the
device's next relevant event (sync_start, a new stretch, going down) or at
the end, exactly as the clock would have decided it: the clock fails a stretch
at the first event strictly later than its deadline, so a stretch ended at
``t`` failed iff its deadline < ``t``, and at the end iff its deadline is
before the trace's last event. The violations are handed to the base class in
the clock's order (deadline, then the order the stretches began), so the list
kept past MAX_VIOLATIONS_KEPT is the same too.
"""

from __future__ import annotations

from bench.rules import base
from bench.rules.base import Rule, fmt_t, register


@register
class Cadence(Rule):
    id = "planado.cadence"
    title = "Automatic sync every 2 minutes, even minimized"
    source = "App tries to synchronize automatically every 2 minutes, even if app is minimized."
    statement = (
        "While the device is online and running (foreground or background), it is never idle — "
        "no sync in progress — for more than `interval_s + cadence_tol_s`. The idle clock starts "
        "when the device becomes online and running, and at every `sync_end`; failed attempts "
        "count as syncs. One violation per idle stretch."
    )
    params = ("interval_s", "cadence_tol_s")

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._limit = self.p["interval_s"] + self.p["cadence_tol_s"]
        # Per device (DeviceState.own): (deadline, order begun, start, why) of its
        # idle stretch, or None; why is the sync_end that began it (its ok and
        # id), or None: online and running
        self._k = ctx.own_slot()
        self._begun = 0
        # Overdue stretches (deadline, order, start, dev, why), handed to fail()
        # at the end in the clock's order; beyond twice the kept maximum the
        # latest are dropped (counted), as the clock's fail() would have.
        self._late: list[tuple[float, int, float, str, tuple | None]] = []
        self._dropped = 0

    def _start(self, ds, t: float, why: tuple | None) -> None:
        self._stop(ds, t)
        self._begun += 1
        ds.own[self._k] = (t + self._limit, self._begun, t, why)

    def _stop(self, ds, t: float) -> bool:
        """End the device's stretch at ``t``; True if it was within its limit."""
        own, k = ds.own, self._k
        st = own[k]
        if st is None:
            return False
        own[k] = None
        if st[0] < t:  # the clock would have failed it at an event before this one
            self._overdue(ds.dev, st)
            return False
        return True

    def _overdue(self, dev: str, st: tuple[float, int, float, tuple | None]) -> None:
        late = self._late
        late.append((st[0], st[1], st[2], dev, st[3]))
        keep = base.MAX_VIOLATIONS_KEPT
        if len(late) >= 2 * keep + 64:
            late.sort()
            self._dropped += len(late) - keep
            del late[keep:]

    def on_up(self, ds, t) -> None:
        # "The idle clock starts when the device becomes online and running";
        # with a sync in progress it is not idle yet: the clock starts at that
        # sync's sync_end instead.
        if not ds.syncs:
            self._start(ds, t, None)

    def on_down(self, ds, t) -> None:
        self._stop(ds, t)  # cut: "its precondition ceasing to hold" -> not judged

    def on_sync_start(self, ev, ds) -> None:
        # _stop() inline: every sync_start of every device comes here.
        own, k = ds.own, self._k
        st = own[k]
        if st is not None:
            own[k] = None
            if st[0] < ev["t"]:
                self._overdue(ds.dev, st)
            else:
                self.judged += 1  # passed()

    def on_sync_end(self, ev, ds) -> None:
        # "... and at every sync_end; failed attempts count as syncs."
        if ds.active and not ds.syncs:
            # _start() inline: the sync_start before this one left no stretch
            # (every sync_end of every device comes here).
            t, own, k = ev["t"], ds.own, self._k
            if own[k] is not None:
                self._stop(ds, t)
            self._begun += 1
            own[k] = (t + self._limit, self._begun, t, (ev["ok"], ev["sync"]))

    def finish(self, end_t) -> None:
        # A stretch whose deadline is before the last event was failed by the
        # clock; one reaching the end is cut ("more than X": not expire_due).
        k = self._k
        for ds in self.ctx.devices.values():
            st = ds.own[k]
            if st is not None:
                ds.own[k] = None
                if end_t is not None and st[0] < end_t:
                    self._overdue(ds.dev, st)
        self._late.sort()
        for deadline, _, t, dev, began in self._late:
            if began is None:
                why = "online and running"
            else:
                why = f"{'ok' if began[0] else 'failed'} sync_end of {began[1]}"
            self.fail(t, dev, f"idle from {fmt_t(t)} ({why}): no sync_start by {fmt_t(deadline)}")
        self.judged += self._dropped
        self.failures += self._dropped
        self._late.clear()
