"""planado.no_overpoll: timer syncs no more often than the interval allows.

Theory: the instances are the pairs of consecutive ``sync_start``s with
trigger ``timer`` on one device ("two consecutive sync_starts with trigger
timer on one device are at least interval_s - cadence_tol_s apart"); other
triggers neither count nor break a pair. A gap of exactly the minimum passes.
The violation is reported at the second start. Fewer than two timer syncs on
every device: n/a.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


@register
class NoOverpoll(Rule):
    id = "planado.no_overpoll"
    title = "Timer syncs every 2 minutes, not more often"
    source = "App tries to synchronize automatically every 2 minutes"
    statement = (
        "Every 2 minutes, not more often: two consecutive `sync_start`s with trigger `timer` on "
        "one device are at least `interval_s - cadence_tol_s` apart."
    )
    params = ("interval_s", "cadence_tol_s")

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._min = self.p["interval_s"] - self.p["cadence_tol_s"]
        self._k = ctx.own_slot()  # per device: t of its last timer sync_start

    def on_sync_start(self, ev, ds) -> None:
        if ev["trigger"] != "timer":
            return
        t = ev["t"]
        own, k = ds.own, self._k
        prev = own[k]
        own[k] = t
        if prev is None:
            return
        if t - prev >= self._min:
            self.judged += 1  # passed()
        else:
            self.fail(t, ds.dev, f"timer sync at {fmt_t(t)} only {fmt_t(t - prev)} s after the one at {fmt_t(prev)}")
