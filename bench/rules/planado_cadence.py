"""planado.cadence: never idle longer than the interval plus tolerance.

Theory: an idle stretch starts when the device becomes online and running
with no sync in progress, or at a ``sync_end`` while online and running; it
ends at the next ``sync_start`` (judged: pass) or when the device stops being
online and running (cut: not judged). A stretch still idle strictly after
start + interval_s + cadence_tol_s is one violation.
"""

from __future__ import annotations

from bench.rules.base import Rule, Window, fmt_t, register


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

    def _start(self, dev: str, t: float) -> None:
        self._stop(dev)
        self._idle[dev] = self.window(dev, t + self._limit, self._expired, data=t)

    def _stop(self, dev: str) -> Window | None:
        w = self._idle.pop(dev, None)
        if w is not None:
            w.close()
        return w

    def _expired(self, w: Window) -> None:
        self._idle.pop(w.dev, None)
        self.fail(w.data, w.dev, f"idle from {fmt_t(w.data)}: no sync started by {fmt_t(w.deadline)}")

    def on_up(self, ds, t) -> None:
        if not ds.syncs:
            self._start(ds.dev, t)

    def on_down(self, ds, t) -> None:
        self._stop(ds.dev)

    def on_sync_start(self, ev, ds) -> None:
        if self._stop(ds.dev) is not None:
            self.passed()

    def on_sync_end(self, ev, ds) -> None:
        if ds.active and not ds.syncs:
            self._start(ds.dev, ev["t"])
