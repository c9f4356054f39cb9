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
        self._seq: dict[str, int] = {}  # edits so far per device
        self._unacked: dict[str, dict[str, tuple[int, float]]] = {}  # dev -> change -> (seq, t)
        self._starts: dict[tuple[str, str], int] = {}  # (dev, sync) -> edit seq at sync_start

    def on_edit(self, ev, ds) -> None:
        if ev["kind"] == "photo":
            return
        n = self._seq.get(ds.dev, 0) + 1
        self._seq[ds.dev] = n
        self._unacked.setdefault(ds.dev, {})[ev["change"]] = (n, ev["t"])

    def on_ack(self, ev, ds) -> None:
        pending = self._unacked.get(ds.dev)
        if pending:
            pending.pop(ev["change"], None)

    def on_sync_start(self, ev, ds) -> None:
        self._starts[(ds.dev, ev["sync"])] = self._seq.get(ds.dev, 0)

    def on_sync_end(self, ev, ds) -> None:
        limit = self._starts.pop((ds.dev, ev["sync"]), None)
        if limit is None or not ev["ok"]:
            return
        pending = self._unacked.get(ds.dev)
        missing = [c for c, (n, _) in pending.items() if n <= limit] if pending else None
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            self.fail(ev["t"], ds.dev, f"sync {ev['sync']} ended ok at {fmt_t(ev['t'])} with {', '.join(missing[:3])}{more} unacked")
        else:
            self.judged += 1  # passed()
