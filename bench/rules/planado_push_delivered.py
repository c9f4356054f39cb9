"""planado.push_delivered: a push the server sends reaches a reachable device.

Theory: every ``srv_push`` to a device that is online and running at its ``t``
opens a window of ``push_deliver_s`` for a ``push`` of the same record on that
device. The device leaving "online and running" before the deadline cuts the
window ("online and running from t to t + push_deliver_s"): not judged.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.window import Window, expire_due


@register
class PushDelivered(Rule):
    id = "planado.push_delivered"
    title = "Pushes reach online devices"
    source = "user... will receive push-notification"
    statement = (
        "Every `srv_push` to a device that is online and running from `t` to `t + push_deliver_s` "
        "reaches it: a `push` for that record on that device within `push_deliver_s`."
    )
    params = ("push_deliver_s",)

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._open: dict[str, list[Window]] = {}

    def on_srv_push(self, ev, ds) -> None:
        if not ds.active:
            return  # not judged: the device was not reachable at t
        w = self.window(ds.dev, ev["t"] + self.p["push_deliver_s"], self._expired, data=(ev["t"], ev["record"]))
        self._open.setdefault(ds.dev, []).append(w)

    def _expired(self, w: Window) -> None:
        t, rec = w.data
        self.fail(t, w.dev, f"srv_push of {rec} at {fmt_t(t)} never arrived (no push by {fmt_t(w.deadline)})")

    def on_push(self, ev, ds) -> None:
        # "a push for that record on that device within push_deliver_s": one
        # push answers every open srv_push of that record (a push service may
        # coalesce several notifications for the same job into one).
        lst = self._open.get(ds.dev)
        if not lst:
            return
        keep = []
        for w in lst:
            if not w.open:
                continue
            if w.data[1] == ev["record"]:
                w.close()
                self.passed()
            else:
                keep.append(w)
        self._open[ds.dev] = keep

    def on_down(self, ds, t) -> None:
        for w in self._open.pop(ds.dev, ()):
            w.close()

    def finish(self, end_t) -> None:
        # A "within X s" window ending at or before the end of the trace was
        # seen whole (base.expire_due); one ending later is cut: not judged.
        expire_due([w for ws in self._open.values() for w in ws], end_t)
