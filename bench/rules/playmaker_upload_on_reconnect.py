"""playmaker.upload_on_reconnect: offline saves upload when the link returns."""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.window import Window, expire_due


@register
class UploadOnReconnect(Rule):
    id = "playmaker.upload_on_reconnect"
    title = "Offline saves upload when the connection returns"
    source = (
        "the data will be stored on the mobile device until the... signal [is] strong enough to "
        "upload"
    )
    statement = (
        "Every edit made while offline is acked within `save_ack_s` after the device is next "
        "online and running, when it stays so that long."
    )
    params = ("save_ack_s",)

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._offline: dict[str, dict[str, float]] = {}  # edits waiting for the next up
        self._open: dict[str, dict[str, Window]] = {}

    def on_edit(self, ev, ds) -> None:
        if not ds.online:
            self._offline.setdefault(ds.dev, {})[ev["change"]] = ev["t"]

    def on_ack(self, ev, ds) -> None:
        change = ev["change"]
        if self._offline.get(ds.dev, {}).pop(change, None) is not None:
            # Acked before the device was next online and running (a background
            # upload while the app was closed): "acked within save_ack_s after"
            # that moment already holds, and "one already satisfied passes".
            self.passed()
            return
        w = self._open.get(ds.dev, {}).pop(change, None)
        if w is not None and w.open:
            w.close()
            self.passed()

    def on_up(self, ds, t) -> None:
        waiting = self._offline.pop(ds.dev, None)
        if not waiting:
            return
        wins = self._open.setdefault(ds.dev, {})
        for change, t_edit in waiting.items():
            wins[change] = self.window(ds.dev, t + self.p["save_ack_s"], self._expired, data=(t_edit, t, change))

    def _expired(self, w: Window) -> None:
        t_edit, t_up, change = w.data
        self._open.get(w.dev, {}).pop(change, None)
        self.fail(t_up, w.dev, f"edit {change}, saved offline at {fmt_t(t_edit)}, not acked by {fmt_t(w.deadline)} "
                               f"(online and running again at {fmt_t(t_up)})")

    def finish(self, end_t) -> None:
        # A window ending at or before the end of the trace was seen whole.
        expire_due([w for ws in self._open.values() for w in ws.values()], end_t)

    def on_down(self, ds, t) -> None:
        # "when it stays so that long": a cut window is not judged, and it was the *next* up.
        for w in self._open.pop(ds.dev, {}).values():
            w.close()
