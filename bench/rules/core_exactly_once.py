"""core.exactly_once: retries never apply a change twice.

Memory: the ids of applied changes (one per change, not per event).

Black-box form: a trace without any ``srv_apply`` but with the bench's reading
of the server's records (``srv_record``) is judged from the writers' side
(:mod:`bench.rules.ledger`): a record's version above the number of distinct
writes acknowledged to it means some write was applied more than once, and a
change acknowledged twice with two versions was applied twice.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register
from bench.rules.ledger import Ledger


@register
class ExactlyOnce(Rule):
    id = "core.exactly_once"
    needs_server_trace = False
    why_na = "the trace has neither `srv_apply` (the server's trace) nor `srv_record` (the bench's reading of the server's records)"
    title = "Retries never apply a change twice"
    statement = (
        "No `change` has more than one `srv_apply`; every `ack` follows a `srv_apply` of that "
        "change. Without `srv_apply`, from `srv_record` (the bench's reading of the server): "
        "no record's version exceeds the number of distinct writes acknowledged to it, and no "
        "change is acked with two versions. Neither in the trace: n/a."
    )

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        # dev -> change -> t of its srv_apply, for the whole trace (any later
        # srv_apply of the same change fails): nested, not tuple-keyed, to keep a
        # fleet-day's tens of thousands of entries small.
        self._applied: dict[str, dict[str, float]] = {}
        self._acks: list[tuple[float, str, str, bool]] = []  # judged at the end: needs any srv_apply
        self._ack_ok = 0
        self._ledger = Ledger()

    def on_edit(self, ev, ds) -> None:
        if not self.ctx.any_srv_apply:
            self._ledger.edit(ev, ds.dev)

    def on_dispatch(self, ev, ds) -> None:
        if not self.ctx.any_srv_apply:
            self._ledger.dispatch(ev)

    def on_srv_record(self, ev, ds) -> None:
        self._ledger.srv_record(ev)

    def on_srv_apply(self, ev, ds) -> None:
        mine = self._applied.get(ds.dev)
        if mine is None:
            mine = self._applied[ds.dev] = {}
        first = mine.get(ev["change"])
        if first is not None:
            self.fail(ev["t"], ds.dev, f"change {ev['change']} applied again (first srv_apply at {fmt_t(first)})")
        else:
            mine[ev["change"]] = ev["t"]
            self.judged += 1  # passed()

    def on_ack(self, ev, ds) -> None:
        if not self.ctx.any_srv_apply:
            self._ledger.ack(ev, ds.dev)
        if ev["change"] in self._applied.get(ds.dev, ()):
            self._ack_ok += 1
        else:
            # Judged at the end: with no srv_apply anywhere the rule is n/a.
            self._acks.append((ev["t"], ds.dev, ev["change"], False))

    def finish(self, end_t) -> None:
        if not self.ctx.any_srv_apply:
            self.judged = 0
            if self.ctx.any_srv_record:
                self._black_box()
            return
        self.passed(self._ack_ok)
        for t, dev, change, _ in self._acks:
            self.fail(t, dev, f"ack of {change} at {fmt_t(t)} has no srv_apply before it")

    def _black_box(self) -> None:
        led = self._ledger
        for t, dev, change, v1, v2 in led.acked_twice:
            self.fail(t, dev, f"server fault: change {change} acked at v{v1:g} and again at v{v2:g}: "
                              f"applied twice")
        for rid, rec in sorted(led.records.items()):
            ws = led.applied(rid, rec["t"])
            if not ws:
                continue
            if rec["version"] > len(ws):
                extra = rec["version"] - len(ws)
                self.fail(rec["t"], None, f"server fault: {rid} is at v{rec['version']:g} on the "
                                          f"server, but only {len(ws)} distinct writes to it were "
                                          f"acknowledged: {extra:g} write(s) applied more than once "
                                          f"(a retried change?)")
            else:
                self.passed()
