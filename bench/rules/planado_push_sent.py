"""planado.push_sent: dispatcher changes push to the assignee.

Theory: every ``dispatch`` with a non-null ``assignee`` (the assignee *after*
the op) opens a window of ``push_send_s`` for a later ``srv_push`` of that
record to that device; one ``srv_push`` answers every open dispatch of the
pair. This is a server rule: nothing about the device cuts the window, only
the end of the trace before its deadline.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.window import Window, expire_due


@register
class PushSent(Rule):
    id = "planado.push_sent"
    title = "Dispatcher changes are pushed to the assignee"
    source = (
        "When dispatcher creates or changes job in the web-application, user... will receive "
        "push-notification"
    )
    statement = (
        "Every `dispatch` whose record has an assignee after the op is followed within "
        "`push_send_s` by a `srv_push` to that assignee for that record. No `dispatch` in the "
        "trace: n/a."
    )
    params = ("push_send_s",)

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._open: dict[tuple[str, str], list[Window]] = {}

    def on_dispatch(self, ev, ds) -> None:
        dev = ev["assignee"]
        if dev is None:
            return
        key = (dev, ev["record"])
        w = self.window(dev, ev["t"] + self.p["push_send_s"], self._expired, data=(ev["t"], ev["op"], key))
        self._open.setdefault(key, []).append(w)

    def _expired(self, w: Window) -> None:
        t, op, key = w.data
        lst = self._open.get(key)
        if lst is not None:
            lst[:] = [x for x in lst if x.open]
            if not lst:
                del self._open[key]
        self.fail(t, w.dev, f"dispatch {op} of {key[1]} at {fmt_t(t)}: no srv_push to {w.dev} by {fmt_t(w.deadline)}")

    def on_srv_push(self, ev, ds) -> None:
        for w in self._open.pop((ds.dev, ev["record"]), ()):
            if w.open:
                w.close()
                self.passed()

    def finish(self, end_t) -> None:
        # A "within X s" window ending at or before the end of the trace was
        # seen whole (base.expire_due); one ending later is cut: not judged.
        expire_due([w for ws in self._open.values() for w in ws], end_t)
