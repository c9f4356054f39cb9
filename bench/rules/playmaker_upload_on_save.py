"""playmaker.upload_on_save: a saved record uploads at once."""

from __future__ import annotations

from bench.rules.base import fmt_t, register
from bench.rules.respond import RespondRule
from bench.rules.window import Window, expire_due


@register
class UploadOnSave(RespondRule):
    id = "playmaker.upload_on_save"
    title = "A saved record uploads at once"
    source = (
        "When a new record is created on a mobile device and saved, it is pushed to the web... "
        "saved records will show up almost immediately"
    )
    statement = (
        "Every `text`/`status` `edit` while online and running: respond(E, save_sync_s, strict), "
        "and, if the device stays online and running to `t + save_ack_s`, an `ack` of it by then."
    )
    params = ("save_sync_s", "save_ack_s")
    respond_param = "save_sync_s"
    strict = True

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._acks: dict[str, dict[str, Window]] = {}

    def on_edit(self, ev, ds) -> None:
        if ev["kind"] == "photo" or not ds.active:
            return
        t = ev["t"]
        self.respond.open(t, ds, f"save of {ev['change']}")
        w = self.window(ds.dev, t + self.p["save_ack_s"], self._ack_expired, data=(t, ev["change"]))
        self._acks.setdefault(ds.dev, {})[ev["change"]] = w

    def _ack_expired(self, w: Window) -> None:
        t, change = w.data
        self._acks.get(w.dev, {}).pop(change, None)
        self.fail(t, w.dev, f"save of {change} at {fmt_t(t)} not acked by {fmt_t(w.deadline)}")

    def on_ack(self, ev, ds) -> None:
        w = self._acks.get(ds.dev, {}).pop(ev["change"], None)
        if w is not None and w.open:
            w.close()
            self.passed()

    def finish(self, end_t) -> None:
        super().finish(end_t)
        # A window ending at or before the end of the trace was seen whole.
        expire_due([w for ws in self._acks.values() for w in ws.values()], end_t)

    def on_down(self, ds, t) -> None:
        super().on_down(ds, t)
        for w in self._acks.pop(ds.dev, {}).values():
            w.close()
