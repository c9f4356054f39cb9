"""planado.last_sync_time: the "last successful sync" time tells the truth.

Theory: the truth is the (start, end) of the device's latest ``sync_end`` with
``ok`` true (failed attempts change nothing: "last *successful*
synchronization"); the shown value is the latest ``last_sync`` ``at`` (null
before any). They match when both are null, or ``at`` is within 0.5 s of the
start or the end. The judgement itself lives in :mod:`bench.rules.display`.
"""

from __future__ import annotations

from bench.rules.base import fmt_t, register
from bench.rules.display import DisplayRule

# "equals the start or end time (±0.5 s)"; the boundary itself matches.
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
    initial = None  # "(null before any)"

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._tol = TIME_TOLERANCE_S + self._seen

    # The truth, kept on the device's screen state (``sc.truth``): (start, end,
    # sync id) of the latest successful sync, None before any.
    def truth(self, ds, sc):
        return sc.truth

    def agrees(self, ds, sc) -> bool:
        truth, shown = sc.truth, sc.shown
        if truth is None or shown is None:
            return truth is None and shown is None
        tol = self._tol
        return abs(shown - truth[0]) <= tol or abs(shown - truth[1]) <= tol

    def describe(self, dev, shown, truth) -> str:
        got = "null" if shown is None else fmt_t(shown)
        if truth is None:
            return f"last_sync shows {got} but no sync has succeeded"
        start, end, sid = truth
        return f"last_sync shows {got} but the latest successful sync {sid} ran {fmt_t(start)}-{fmt_t(end)}"

    # The two handlers of every successful sync: show() and truth_changed() inline.
    def on_last_sync(self, ev, ds) -> None:
        sc = ds.own[self._k] or self.screen(ds)
        sc.shown = ev["at"]
        self._evaluate(ds, sc, ev["t"], True)

    def on_sync_end(self, ev, ds) -> None:
        if ev["ok"]:
            # ds.ended: (start t, trigger) of the sync that just ended (state.py);
            # a sync_end without a seen sync_start has only its end to go by.
            start = ds.ended[0] if ds.ended else ev["t"]
            sc = ds.own[self._k] or self.screen(ds)
            t = ev["t"]
            sc.truth = (start, t, ev["sync"])
            sc.grace_from = t
            self._evaluate(ds, sc, t, True)
