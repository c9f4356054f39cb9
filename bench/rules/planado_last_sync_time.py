"""planado.last_sync_time: the "last successful sync" time tells the truth."""

from __future__ import annotations

from bench.rules.base import fmt_t, register
from bench.rules.display import DisplayRule

# "equals the start or end time (±0.5 s)"
TIME_TOLERANCE_S = 0.5


@register
class LastSyncTime(DisplayRule):
    id = "planado.last_sync_time"
    title = "The last successful sync time is right"
    source = "you will also see the time of the last successful synchronization"
    statement = (
        "While running, the displayed `last_sync` `at` (null before any) equals the start or end "
        "time (±0.5 s) of the latest successful sync (null if none), except within "
        "`display_lag_s` after a successful `sync_end` or after the app starts running."
    )
    initial = None

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._last_ok: dict[str, tuple[float, float]] = {}

    def truth(self, ds):
        return self._last_ok.get(ds.dev)

    def matches(self, shown, truth) -> bool:
        if truth is None or shown is None:
            return truth is None and shown is None
        start, end = truth
        return abs(shown - start) <= TIME_TOLERANCE_S or abs(shown - end) <= TIME_TOLERANCE_S

    def describe(self, shown, truth) -> str:
        want = "none" if truth is None else f"{fmt_t(truth[0])} or {fmt_t(truth[1])}"
        got = "none" if shown is None else fmt_t(shown)
        return f"shows last sync {got} but the latest successful sync was {want}"

    def on_last_sync(self, ev, ds) -> None:
        self.show(ds, ev["at"], ev["t"])

    def on_sync_end(self, ev, ds) -> None:
        if ev["ok"]:
            start = ds.ended[0] if ds.ended else ev["t"]
            self._last_ok[ds.dev] = (start, ev["t"])
            self.truth_changed(ds, ev["t"])
