"""planado.text_flows: text changes flow on any online link.

Theory: every ``text``/``status`` ``edit`` made while online and running opens
a window of ``text_ack_s`` for its ``ack``. A change of link class (even to a
slow one) does not cut it: that is the point of the rule ("Only text
information of the jobs will be updated" on slow links). Going offline or the
app stopping running cuts it: not judged.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.window import Window, expire_due


@register
class TextFlows(Rule):
    id = "planado.text_flows"
    title = "Text still flows on slow links"
    source = "Only text information of the jobs will be updated"
    statement = (
        "Every `edit` of kind `text` or `status` made while the device is online and running, "
        "with the device staying online (any class) and running to `t + text_ack_s`, is acked "
        "by then."
    )
    params = ("text_ack_s",)

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._open: dict[str, dict[str, Window]] = {}

    def on_edit(self, ev, ds) -> None:
        if ev["kind"] == "photo" or not ds.active:
            return
        w = self.window(ds.dev, ev["t"] + self.p["text_ack_s"], self._expired, data=(ev["t"], ev["change"]))
        self._open.setdefault(ds.dev, {})[ev["change"]] = w

    def _expired(self, w: Window) -> None:
        t, change = w.data
        self._open.get(w.dev, {}).pop(change, None)
        self.fail(t, w.dev, f"{change} edited at {fmt_t(t)} online was not acked by {fmt_t(w.deadline)}")

    def on_ack(self, ev, ds) -> None:
        w = self._open.get(ds.dev, {}).pop(ev["change"], None)
        if w is not None and w.open:
            w.close()
            self.passed()

    def on_down(self, ds, t) -> None:
        for w in self._open.pop(ds.dev, {}).values():
            w.close()

    def finish(self, end_t) -> None:
        # A "within X s" window ending at or before the end of the trace was
        # seen whole (base.expire_due); one ending later is cut: not judged.
        expire_due([w for ws in self._open.values() for w in ws.values()], end_t)
