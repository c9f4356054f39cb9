"""planado.slow_no_files: no file transfer on a slow link."""

from __future__ import annotations

from bench.rules.base import Rule, Window, fmt_t, register
from bench.trace.schema import SLOW_CLASSES


@register
class SlowNoFiles(Rule):
    id = "planado.slow_no_files"
    title = "No files on 2G, EDGE or GPRS"
    source = (
        "on slow internet connection (2G, EDGE, GPRS)... application won't upload photos... and "
        "won't download any attached files"
    )
    statement = (
        "No `file_start` while the link is slow, and a transfer in progress when the link turns "
        "slow has its `file_end` within `slow_abort_s`."
    )
    params = ("slow_abort_s",)

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._moving: dict[str, dict[tuple[str, str], Window | None]] = {}

    def on_file_start(self, ev, ds) -> None:
        key = (ev["file"], ev["dir"])
        t = ev["t"]
        if ds.slow:
            self.fail(t, ds.dev, f"file_start {ev['dir']} {ev['file']} at {fmt_t(t)} on {ds.link}")
        else:
            self.passed()
        self._moving.setdefault(ds.dev, {})[key] = None

    def on_file_end(self, ev, ds) -> None:
        moving = self._moving.get(ds.dev)
        if not moving:
            return
        w = moving.pop((ev["file"], ev["dir"]), None)
        if w is not None and w.open:
            w.close()
            self.passed()

    def on_link(self, ev, ds) -> None:
        moving = self._moving.get(ds.dev)
        if not moving or not ds.slow or ds.prev_link in SLOW_CLASSES:
            return  # only the turn to slow opens windows, not a change between slow classes
        t = ev["t"]
        for key, w in moving.items():
            if w is None:
                moving[key] = self.window(ds.dev, t + self.p["slow_abort_s"], self._expired, data=(t, key, ds.link))

    def _expired(self, w: Window) -> None:
        t, (file, direction), link = w.data
        self.fail(t, w.dev, f"transfer {direction} {file} still running {fmt_t(w.deadline - t)} s after the link turned {link} at {fmt_t(t)}")
