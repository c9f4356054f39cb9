"""core.no_loss: nothing a user saved is lost.

Memory: an edit is held until both its ack and its srv_apply are seen; in a
device-only trace (no srv_apply) acked edits are kept as ids only, since a
srv_apply further on would make them judgeable again. With the bench's reading
of the server's records (``srv_record``) every acknowledged write -- a device's
change or the dispatcher's operation -- is also judged by value
(:mod:`bench.rules.ledger`): its fields and files must still be on the server
unless a later write replaced them, and the record's version must count every
acknowledged write. Such a failure is the server's, and its message says so.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.ledger import Ledger


@register
class NoLoss(Rule):
    id = "core.no_loss"
    needs_server_trace = False
    why_na = 'the run did not end with a settle window (meta `settled` is not true)'
    title = "Nothing a user saved is lost"
    statement = (
        "When `meta.settled` is true: every `edit` has an `ack`, and, if the trace has any "
        "`srv_apply`, a `srv_apply` for its `change`. Not settled: n/a. With `srv_record` "
        "events (the bench's reading of the server's records), every acknowledged write "
        "(device `edit` with its `ack`, or `dispatch`) still shows on the server: each field "
        "it set holds its value unless a write of a higher version set that field, each file "
        "it attached is there (same sha256), and the record's version counts every "
        "acknowledged write."
    )

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._unacked: dict[tuple[str, str], float] = {}  # (dev, change) -> t
        self._unapplied: dict[tuple[str, str], float] = {}  # acked, no srv_apply yet
        self._applied: set[tuple[str, str]] = set()  # srv_apply seen before the ack
        self._complete = 0
        self._ledger = Ledger()

    def on_edit(self, ev, ds) -> None:
        self._unacked[(ds.dev, ev["change"])] = ev["t"]
        self._ledger.edit(ev, ds.dev)

    def on_dispatch(self, ev, ds) -> None:
        self._ledger.dispatch(ev)

    def on_srv_record(self, ev, ds) -> None:
        self._ledger.srv_record(ev)

    def on_srv_apply(self, ev, ds) -> None:
        key = (ds.dev, ev["change"])
        if self._unapplied.pop(key, None) is not None:
            self._complete += 1
        else:
            self._applied.add(key)

    def on_ack(self, ev, ds) -> None:
        self._ledger.ack(ev, ds.dev)
        key = (ds.dev, ev["change"])
        t = self._unacked.pop(key, None)
        if t is None:
            return
        if key in self._applied:
            self._applied.discard(key)
            self._complete += 1
        else:
            self._unapplied[key] = t

    def finish(self, end_t) -> None:
        if not self.ctx.settled:
            return
        self.passed(self._complete)
        for (dev, change), t in self._unacked.items():
            self.fail(t, dev, f"edit {change} (t={fmt_t(t)}) was never acked")
        for (dev, change), t in self._unapplied.items():
            if self.ctx.any_srv_apply:
                self.fail(t, dev, f"edit {change} (t={fmt_t(t)}) was acked but never applied (no srv_apply)")
            else:
                self.passed()
        self._by_value()

    def _by_value(self) -> None:
        led = self._ledger
        for rid, rec in sorted(led.records.items()):
            ws = led.applied(rid, rec["t"])
            if not ws:
                continue
            lost = {id(w): why for w, why in led.lost(rec)}
            for w in ws:
                why = lost.get(id(w))
                if why is None:
                    self.passed()
                else:
                    self.fail(w.t, w.by, f"server fault: the server {led.describe(w)}, "
                                        f"but on {rid} {why}")
            if len(ws) > rec["version"]:
                self.fail(rec["t"], None, f"server fault: {rid} is at v{rec['version']:g} on the "
                                          f"server, but {len(ws)} writes to it were acknowledged: "
                                          f"{len(ws) - rec['version']:g} of them are gone")
