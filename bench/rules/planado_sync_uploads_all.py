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
    (change -> (seq, t); None while there are none), and the count at each
    sync_start in progress: ``sync``/``at`` for the one a device has at a time,
    ``more`` (sync -> count) only for syncs that overlap it (a team's app
    may run two). Fields, not dicts, on the path of every sync: in a fleet of
    thousands each object is a cache miss."""

    __slots__ = ("seq", "unacked", "sync", "at", "more")

    def __init__(self) -> None:
        self.seq = 0
        self.unacked: dict[str, tuple[int, float]] | None = None
        self.sync: str | None = None
        self.at = 0
        self.more: dict[str, int] | None = None

    # A sync id is in one place at most: ``sync`` or ``more`` (a dict by sync id, as ever).
    def start(self, sync: str) -> None:
        more = self.more
        if more and sync in more:
            more[sync] = self.seq
        elif self.sync is None or self.sync == sync:
            self.sync, self.at = sync, self.seq
        else:
            if more is None:
                more = self.more = {}
            more[sync] = self.seq

    def end(self, sync: str) -> int | None:
        """The count at ``sync``'s start (None: its start was not seen)."""
        if sync == self.sync:
            self.sync = None
            return self.at
        more = self.more
        if not more:
            return None
        at = more.pop(sync, None)
        if not more:
            self.more = None
        return at


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
        if e.unacked is None:
            e.unacked = {}
        e.unacked[ev["change"]] = (e.seq, ev["t"])

    def on_ack(self, ev, ds) -> None:
        e = ds.own[self._k]
        if e is not None and e.unacked:
            e.unacked.pop(ev["change"], None)
            if not e.unacked:
                e.unacked = None

    def on_sync_start(self, ev, ds) -> None:
        e = ds.own[self._k] or self._edits(ds)
        if e.sync is None and e.more is None:  # e.start(), inline: every sync of every device
            e.sync, e.at = ev["sync"], e.seq
        else:
            e.start(ev["sync"])

    def on_sync_end(self, ev, ds) -> None:
        e = ds.own[self._k]
        if e is None:
            return
        sid = ev["sync"]
        if sid == e.sync:  # e.end(), inline
            e.sync, limit = None, e.at
        else:
            limit = e.end(sid)
        if limit is None or not ev["ok"]:
            return
        pending = e.unacked
        missing = [c for c, (n, _) in pending.items() if n <= limit] if pending else None
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            self.fail(ev["t"], ds.dev, f"sync {ev['sync']} ended ok at {fmt_t(ev['t'])} with {', '.join(missing[:3])}{more} unacked")
        else:
            self.judged += 1  # passed()
