"""core.no_loss: nothing a user saved is lost.

Memory: an edit is held until both its ack and its srv_apply are seen; in a
device-only trace (no srv_apply) acked edits are kept as ids only, since a
srv_apply further on would make them judgeable again.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


@register
class NoLoss(Rule):
    id = "core.no_loss"
    title = "Nothing a user saved is lost"
    statement = (
        "When `meta.settled` is true: every `edit` has an `ack`, and, if the trace has any "
        "`srv_apply`, a `srv_apply` for its `change`. Not settled: n/a."
    )

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._unacked: dict[tuple[str, str], float] = {}  # (dev, change) -> t
        self._unapplied: dict[tuple[str, str], float] = {}  # acked, no srv_apply yet
        self._applied: set[tuple[str, str]] = set()  # srv_apply seen before the ack
        self._complete = 0

    def on_edit(self, ev, ds) -> None:
        self._unacked[(ds.dev, ev["change"])] = ev["t"]

    def on_srv_apply(self, ev, ds) -> None:
        key = (ds.dev, ev["change"])
        if self._unapplied.pop(key, None) is not None:
            self._complete += 1
        else:
            self._applied.add(key)

    def on_ack(self, ev, ds) -> None:
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
