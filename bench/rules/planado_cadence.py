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
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.window import Window


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
        self._idle: dict[str, Window] = {}

    def _start(self, dev: str, t: float, why: str) -> None:
        self._stop(dev)
        self._idle[dev] = self.window(dev, t + self._limit, self._expired, data=(t, why))

    def _stop(self, dev: str) -> Window | None:
        w = self._idle.pop(dev, None)
        if w is not None:
            w.close()
        return w

    def _expired(self, w: Window) -> None:
        self._idle.pop(w.dev, None)
        t, why = w.data
        self.fail(t, w.dev, f"idle from {fmt_t(t)} ({why}): no sync_start by {fmt_t(w.deadline)}")

    def on_up(self, ds, t) -> None:
        # "The idle clock starts when the device becomes online and running";
        # with a sync in progress it is not idle yet: the clock starts at that
        # sync's sync_end instead.
        if not ds.syncs:
            self._start(ds.dev, t, "online and running")

    def on_down(self, ds, t) -> None:
        self._stop(ds.dev)  # cut: "its precondition ceasing to hold" -> not judged

    def on_sync_start(self, ev, ds) -> None:
        if self._stop(ds.dev) is not None:
            self.passed()

    def on_sync_end(self, ev, ds) -> None:
        # "... and at every sync_end; failed attempts count as syncs."
        if ds.active and not ds.syncs:
            ok = "ok" if ev["ok"] else "failed"
            self._start(ds.dev, ev["t"], f"{ok} sync_end of {ev['sync']}")
