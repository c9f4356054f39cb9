"""planado.push_sent: dispatcher changes push to the assignee.

Theory: every ``dispatch`` with a non-null ``assignee`` (the assignee *after*
the op) opens a window of ``push_send_s`` for a later ``srv_push`` of that
record to that device; one ``srv_push`` answers every open dispatch of the
pair. This is a server rule: nothing about the device cuts the window, only
the end of the trace before its deadline. A trace whose meta says
``server_trace: false`` (a team's own server, which writes no trace of ours)
and that holds no ``srv_push`` is judged end to end instead (:mod:`bench.rules.endtoend`): the dispatch's push
must reach the assignee's device within ``push_send_s + push_deliver_s``.
Expired windows are therefore held until the end, when the form is known.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.endtoend import EndToEndPushes
from bench.rules.window import Window, expire_due


@register
class PushSent(EndToEndPushes, Rule):
    id = "planado.push_sent"
    title = "Dispatcher changes are pushed to the assignee"
    source = (
        "When dispatcher creates or changes job in the web-application, user... will receive "
        "push-notification"
    )
    statement = (
        "Every `dispatch` whose record has an assignee after the op is followed within "
        "`push_send_s` by a `srv_push` to that assignee for that record. No `dispatch` in the "
        "trace: n/a. When the meta says `server_trace: false` and no `srv_push` is in the trace, "
        "judged end to end: a `push` of that record reaches the assignee within "
        "`push_send_s + push_deliver_s`, for a device whose push channel (else: online and "
        "running) held from the dispatch to that deadline."
    )
    params = ("push_send_s", "push_deliver_s")
    needs_server_trace = False
    why_na = "the trace has no `dispatch` events (the dispatcher's record)"

    def na_reason(self) -> str:
        return self._e2e_na_reason() or self.why_na

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._open: dict[tuple[str, str], list[Window]] = {}
        self._late: list[tuple[float, str, str]] = []
        self._e2e_init()

    def on_dispatch(self, ev, ds) -> None:
        self._e2e_dispatch(ev)
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
        self._late.append((t, w.dev, f"dispatch {op} of {key[1]} at {fmt_t(t)}: no srv_push to "
                                     f"{w.dev} by {fmt_t(w.deadline)}"))

    def on_srv_push(self, ev, ds) -> None:
        self._e2e_seen_srv_push()
        for w in self._open.pop((ds.dev, ev["record"]), ()):
            if w.open:
                w.close()
                self.passed()

    def finish(self, end_t) -> None:
        # A "within X s" window ending at or before the end of the trace was
        # seen whole (base.expire_due); one ending later is cut: not judged.
        expire_due([w for ws in self._open.values() for w in ws], end_t)
        if self._e2e_off:  # the server's trace is there: the spec's form
            for t, dev, msg in self._late:
                self.fail(t, dev, msg)
        else:
            self._e2e_judge(end_t, previous=False)
