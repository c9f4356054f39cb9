"""core.exactly_once: retries never apply a change twice.

Memory: the ids of applied changes (one per change, not per event).
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


@register
class ExactlyOnce(Rule):
    id = "core.exactly_once"
    title = "Retries never apply a change twice"
    statement = (
        "No `change` has more than one `srv_apply`; every `ack` follows a `srv_apply` of that "
        "change. No `srv_apply` in the trace: n/a."
    )

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._applied: dict[tuple[str, str], float] = {}
        self._acks: list[tuple[float, str, str, bool]] = []  # judged at the end: needs any srv_apply
        self._ack_ok = 0

    def on_srv_apply(self, ev, ds) -> None:
        key = (ds.dev, ev["change"])
        first = self._applied.get(key)
        if first is not None:
            self.fail(ev["t"], ds.dev, f"change {ev['change']} applied again (first srv_apply at {fmt_t(first)})")
        else:
            self._applied[key] = ev["t"]
            self.passed()

    def on_ack(self, ev, ds) -> None:
        if (ds.dev, ev["change"]) in self._applied:
            self._ack_ok += 1
        else:
            # Judged at the end: with no srv_apply anywhere the rule is n/a.
            self._acks.append((ev["t"], ds.dev, ev["change"], False))

    def finish(self, end_t) -> None:
        if not self.ctx.any_srv_apply:
            self.judged = 0
            return
        self.passed(self._ack_ok)
        for t, dev, change, _ in self._acks:
            self.fail(t, dev, f"ack of {change} at {fmt_t(t)} has no srv_apply before it")
