"""planado.fast_files: files move as soon as the link is fast.

Theory: each photo edit (upload, file id = its change) and each ``attach``
dispatched to a device (download, file id = ``file``) is one instance. Its
clock starts at r, the first moment the device is fast and running with the
file neither done nor in transfer; from r the device has ``files_s`` to start
(or finish) that file. Leaving "fast and running" before r + files_s cuts the
instance: r is the *first* such moment, so it is not judged again.

Reading: a download is owed by "a record assigned to the device"; once a later
``dispatch`` assigns that record to someone else (or nobody), the device has
no business fetching its files, so its pending downloads of that record are
cut (not judged).
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.window import Window, expire_due


class _File:
    __slots__ = ("t0", "moving", "window")

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.moving = False
        self.window: Window | None = None


@register
class FastFiles(Rule):
    id = "planado.fast_files"
    title = "Files move once the link is fast"
    source = (
        "Files exchange... will begin as soon as you connect to faster network (3G, LTE, Wi-Fi)"
    )
    statement = (
        "For each photo `edit` (upload, file id = its `change`) and each `dispatch` `attach` of "
        "a record assigned to the device (download, file id = `file`): let `r` be the first time "
        "at or after it when the device is fast and running with that file neither done (an "
        "upload: its `ack` or a successful `file_end`; a download: a successful `file_end`) nor "
        "in transfer. If the device stays fast and running to `r + files_s`, a `file_start` of "
        "that file (or its completion) falls in `[r, r + files_s]`."
    )
    params = ("files_s",)

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._files: dict[str, dict[tuple[str, str], _File]] = {}
        self._downloads: dict[str, list[tuple[str, tuple[str, str]]]] = {}  # record -> [(dev, key)]

    # -- instances ------------------------------------------------------------
    def _add(self, dev: str, key: tuple[str, str], t: float) -> None:
        f = self._files.setdefault(dev, {})[key] = _File(t)
        ds = self.ctx.device(dev)
        if ds.fast and ds.running:  # r = t: arm this file only, the others are armed already
            f.window = self.window(dev, t + self.p["files_s"], self._expired, data=(key, t))

    def on_edit(self, ev, ds) -> None:
        if ev["kind"] == "photo":
            self._add(ds.dev, (ev["change"], "up"), ev["t"])

    def on_dispatch(self, ev, ds) -> None:
        record, assignee = ev["record"], ev["assignee"]
        owed = self._downloads.get(record)
        if owed:
            keep = []
            for dev, key in owed:
                f = self._files.get(dev, {}).get(key)
                if f is None:
                    continue
                if dev == assignee:
                    keep.append((dev, key))
                else:  # the record left the device: cut, not judged
                    del self._files[dev][key]
                    if f.window is not None:
                        f.window.close()
            self._downloads[record] = keep
        if ev["op"] == "attach" and assignee is not None and ev.get("file") is not None:
            key = (ev["file"], "down")
            self._downloads.setdefault(record, []).append((assignee, key))
            self._add(assignee, key, ev["t"])

    # -- conditions -----------------------------------------------------------
    def _arm(self, ds, t: float) -> None:
        """Start the clock of every waiting file if the device is fast and running."""
        files = self._files.get(ds.dev)
        if not files or not (ds.fast and ds.running):
            return
        for key, f in files.items():
            if f.window is None and not f.moving:
                f.window = self.window(ds.dev, t + self.p["files_s"], self._expired, data=(key, t))

    def _cut(self, ds) -> None:
        files = self._files.get(ds.dev)
        if not files:
            return
        for key in [k for k, f in files.items() if f.window is not None]:
            files.pop(key).window.close()

    def on_link(self, ev, ds) -> None:
        if ds.fast and ds.running:
            self._arm(ds, ev["t"])
        else:
            self._cut(ds)

    def on_app(self, ev, ds) -> None:
        self.on_link(ev, ds)

    def _done(self, ds, key: tuple[str, str]) -> None:
        f = self._files.get(ds.dev, {}).pop(key, None)
        if f is not None and f.window is not None and f.window.open:
            f.window.close()
            self.passed()

    def on_file_start(self, ev, ds) -> None:
        key = (ev["file"], ev["dir"])
        f = self._files.get(ds.dev, {}).get(key)
        if f is None:
            return
        if f.window is not None:
            self._done(ds, key)
        else:
            f.moving = True

    def on_file_end(self, ev, ds) -> None:
        key = (ev["file"], ev["dir"])
        f = self._files.get(ds.dev, {}).get(key)
        if f is None:
            return
        if ev["ok"]:
            self._done(ds, key)
            self._files.get(ds.dev, {}).pop(key, None)
        else:
            f.moving = False
            self._arm(ds, ev["t"])

    def on_ack(self, ev, ds) -> None:
        key = (ev["change"], "up")
        if key in self._files.get(ds.dev, {}):
            self._done(ds, key)

    def _expired(self, w: Window) -> None:
        (file, direction), r = w.data
        self._files.get(w.dev, {}).pop((file, direction), None)
        what = "photo upload" if direction == "up" else "attachment download"
        self.fail(r, w.dev, f"{what} {file} not started between {fmt_t(r)} and {fmt_t(w.deadline)} on a fast link")

    def finish(self, end_t) -> None:
        # A "within X s" window ending at or before the end of the trace was
        # seen whole (base.expire_due); one ending later is cut: not judged.
        expire_due([f.window for fs in self._files.values() for f in fs.values() if f.window is not None], end_t)
