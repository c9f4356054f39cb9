"""planado.sync_uploads_all: a successful sync has sent every earlier change.

Theory: each ``sync_end`` with ``ok`` true whose ``sync_start`` was seen is an
instance. Edits of kind ``text``/``status`` get a per-device sequence number,
so "made before that sync's sync_start" follows file order even at equal
``t``; at ``sync_end`` every such edit must already have its ``ack``. Photos
are files, not "changes in the jobs", and are left to planado.fast_files.
Failed syncs promise nothing and are not judged.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


class _Edits:
    """One device's text/status edits: how many so far, those not acked yet
    (change -> (seq, t)), and the count at each sync_start in progress."""

    __slots__ = ("seq", "unacked", "starts")

    def __init__(self) -> None:
        self.seq = 0
        self.unacked: dict[str, tuple[int, float]] = {}
        self.starts: dict[str, int] = {}


@register
class SyncUploadsAll(Rule):
    id = "planado.sync_uploads_all"
    title = "Every sync uploads all changes"
    source = "During sync Planado updates all the changes in the jobs with the server"
    statement = (
        "Each `sync_end` with `ok` true comes after an `ack` for every `text`/`status` edit the "
        "device made before that sync's `sync_start`."
    )

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._k = ctx.own_slot()  # per device: its _Edits

    def _edits(self, ds) -> _Edits:
        e = ds.own[self._k]
        if e is None:
            e = ds.own[self._k] = _Edits()
        return e

    def on_edit(self, ev, ds) -> None:
        if ev["kind"] == "photo":
            return
        e = ds.own[self._k] or self._edits(ds)
        e.seq += 1
        e.unacked[ev["change"]] = (e.seq, ev["t"])

    def on_ack(self, ev, ds) -> None:
        e = ds.own[self._k]
        if e is not None and e.unacked:
            e.unacked.pop(ev["change"], None)

    def on_sync_start(self, ev, ds) -> None:
        e = ds.own[self._k] or self._edits(ds)
        e.starts[ev["sync"]] = e.seq

    def on_sync_end(self, ev, ds) -> None:
        e = ds.own[self._k]
        limit = e.starts.pop(ev["sync"], None) if e is not None else None
        if limit is None or not ev["ok"]:
            return
        pending = e.unacked
        missing = [c for c, (n, _) in pending.items() if n <= limit] if pending else None
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            self.fail(ev["t"], ds.dev, f"sync {ev['sync']} ended ok at {fmt_t(ev['t'])} with {', '.join(missing[:3])}{more} unacked")
        else:
            self.judged += 1  # passed()
