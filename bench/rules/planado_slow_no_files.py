"""planado.slow_no_files: no file transfer on a slow link.

Theory: two kinds of instance. Every ``file_start`` is judged at once: it
fails when the link is slow at that moment. Every transfer in progress (a
``file_start`` without its ``file_end`` yet) when the link *turns* slow opens
a window of ``slow_abort_s`` for its ``file_end`` (ok or not: an abort is the
point). A change between two slow classes is not a new turn.

Reading (rules.md, "Verdicts": a window is cut "by its precondition ceasing to
hold (the device goes offline, the app is closed)"): the precondition of the
abort window is the slow link, so the window is cut, not judged, when the link
stops being slow (offline or fast again) or the app is closed. Closing the app
also ends every transfer of the device: a killed process moves no bytes, so a
later turn to slow does not wait for a ``file_end`` that can never come.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.window import Window, expire_due
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
        # dev -> (file, dir) -> its abort window while one is open, else None
        self._moving: dict[str, dict[tuple[str, str], Window | None]] = {}

    def on_file_start(self, ev, ds) -> None:
        key = (ev["file"], ev["dir"])
        t = ev["t"]
        if ds.slow:
            self.fail(t, ds.dev, f"file_start {ev['dir']} {ev['file']} at {fmt_t(t)} on {ds.link}")
        else:
            self.passed()
        moving = self._moving.setdefault(ds.dev, {})
        # A second file_start of a file in transfer is still that transfer as
        # far as the trace tells: an abort window already open stays open
        # until the file's file_end.
        moving.setdefault(key, None)

    def on_file_end(self, ev, ds) -> None:
        moving = self._moving.get(ds.dev)
        if not moving:
            return
        w = moving.pop((ev["file"], ev["dir"]), None)
        if w is not None and w.open:
            w.close()
            self.passed()

    def _cut(self, moving: dict[tuple[str, str], Window | None]) -> None:
        for key, w in moving.items():
            if w is not None:
                w.close()
                moving[key] = None

    def on_link(self, ev, ds) -> None:
        moving = self._moving.get(ds.dev)
        if not moving:
            return
        if not ds.slow:
            self._cut(moving)  # precondition (slow link) no longer holds
            return
        if ds.prev_link in SLOW_CLASSES:
            return  # only the turn to slow opens windows, not a change between slow classes
        t = ev["t"]
        for key, w in moving.items():
            if w is None:
                moving[key] = self.window(ds.dev, t + self.p["slow_abort_s"], self._expired, data=(t, key, ds.link))

    def on_app(self, ev, ds) -> None:
        if ev["state"] == "closed":
            moving = self._moving.pop(ds.dev, None)
            if moving:
                self._cut(moving)

    def _expired(self, w: Window) -> None:
        t, (file, direction), link = w.data
        moving = self._moving.get(w.dev)
        if moving is not None and moving.get((file, direction)) is w:
            moving[(file, direction)] = None  # judged; still in transfer for later turns
        self.fail(t, w.dev, f"file_start {direction} {file} still without file_end {fmt_t(w.deadline - t)} s "
                            f"after the link turned {link} at {fmt_t(t)}")

    def finish(self, end_t) -> None:
        # A "within X s" window ending at or before the end of the trace was
        # seen whole (base.expire_due); one ending later is cut: not judged.
        expire_due([w for ws in self._moving.values() for w in ws.values() if w is not None], end_t)
