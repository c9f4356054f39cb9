"""core.scope: a device receives only records assigned to it.

A record is judged only if some ``dispatch`` names it, possibly later in the
trace; ``recv`` events of records not yet dispatched wait (as ids and times)
until a dispatch names the record (then they fail: it had no assignee) or the
trace ends (then they are not judged).
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


@register
class Scope(Rule):
    id = "core.scope"
    needs_server_trace = False
    why_na = "no `recv` of a record named by a `dispatch` (the dispatcher's record)"
    title = "A device receives only records assigned to it"
    statement = (
        "Every `recv` of a record that appears in any `dispatch` needs that record to have had "
        "this device as assignee at some time in `[t - scope_slack_s, t]`. Records never "
        "dispatched are not judged; no `dispatch` at all: n/a."
    )
    params = ("scope_slack_s",)

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._undispatched: dict[str, list[tuple[float, str]]] = {}
        self._slack = self.p["scope_slack_s"]

    def on_recv(self, ev, ds) -> None:
        rec = ev["record"]
        rs = self.ctx.records.get(rec)
        t = ev["t"]
        if rs is None:
            self._undispatched.setdefault(rec, []).append((t, ds.dev))
        elif rs.assignee == ds.dev or rs.assigned_within(ds.dev, t - self._slack):
            self.judged += 1  # passed(); the assignee now is the common case
        else:
            self.fail(t, ds.dev, f"recv of {rec} at {fmt_t(t)}, assigned to {rs.assignee or 'nobody'}")

    def on_dispatch(self, ev, ds) -> None:
        for t, dev in self._undispatched.pop(ev["record"], ()):
            self.fail(t, dev, f"recv of {ev['record']} at {fmt_t(t)} before any dispatch assigned it")
