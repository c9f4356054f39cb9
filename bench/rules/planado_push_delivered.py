"""planado.push_delivered: a push the server sends reaches a reachable device.

Theory: every ``srv_push`` to a device that is online and running at its ``t``
opens a window of ``push_deliver_s`` for a ``push`` of the same record on that
device. The device leaving "online and running" before the deadline cuts the
window ("online and running from t to t + push_deliver_s"): not judged.
When the meta says ``server_trace: false`` and no ``srv_push`` is in the trace, the pushes the protocol promises for
each ``dispatch`` (to the assignee after it, and ``unassign`` to the previous
one) are judged end to end (:mod:`bench.rules.endtoend`).
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.endtoend import EndToEndPushes
from bench.rules.window import Window, expire_due


@register
class PushDelivered(EndToEndPushes, Rule):
    id = "planado.push_delivered"
    title = "Pushes reach online devices"
    source = "user... will receive push-notification"
    statement = (
        "Every `srv_push` to a device that is online and running from `t` to `t + push_deliver_s` "
        "reaches it: a `push` for that record on that device within `push_deliver_s`. "
        "When the meta says `server_trace: false` and no `srv_push` is in the trace, judged end to end: every push a `dispatch` "
        "implies (to the assignee after it; `unassign` to the previous assignee) reaches a "
        "device whose push channel held, within `push_send_s + push_deliver_s`."
    )
    params = ("push_deliver_s", "push_send_s")
    needs_server_trace = False
    why_na = "no `srv_push` or `dispatch` event to judge (no device was reachable for one)"

    def na_reason(self) -> str:
        return self._e2e_na_reason() or self.why_na

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._open: dict[str, list[Window]] = {}
        self._e2e_init()

    def on_dispatch(self, ev, ds) -> None:
        self._e2e_dispatch(ev)

    def on_srv_push(self, ev, ds) -> None:
        self._e2e_seen_srv_push()
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
        EndToEndPushes.on_push(self, ev, ds)
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
        EndToEndPushes.on_down(self, ds, t)
        for w in self._open.pop(ds.dev, ()):
            w.close()

    def finish(self, end_t) -> None:
        # A "within X s" window ending at or before the end of the trace was
        # seen whole (base.expire_due); one ending later is cut: not judged.
        expire_due([w for ws in self._open.values() for w in ws], end_t)
        self._e2e_judge(end_t, previous=True)
