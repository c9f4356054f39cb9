"""planado.push_scope: a push goes only to the record's assignee.

Theory: every ``push`` (device side) and ``srv_push`` (server side) is judged
at once against the record's assignee history (state.RecordState): the device
must have been the assignee at some time in ``[t - scope_slack_s, t]``. With
no ``dispatch`` anywhere in the trace the rule is n/a, so pushes seen before
the first dispatch wait for the end of the trace; once any dispatch exists
they fail, since no dispatch had named their record by then.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


@register
class PushScope(Rule):
    id = "planado.push_scope"
    needs_server_trace = False
    why_na = "no `push` or `srv_push` while the trace has `dispatch` events (the dispatcher's record)"
    title = "Pushes go only to the assignee"
    source = "user (to whom the job is assigned) will receive push-notification"
    statement = (
        "A push goes only to the record's assignee: every `push` and `srv_push` for (device, "
        "record) needs that device to have been the record's assignee at some time in "
        "`[t - scope_slack_s, t]`; a push for a record no `dispatch` ever named fails. No "
        "`dispatch` in the trace at all: n/a."
    )
    params = ("scope_slack_s",)

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        # Pushes before the first dispatch anywhere wait: with no dispatch at all the rule is n/a.
        self._early: list[tuple[float, str, str, str]] = []

    def _judge(self, kind: str, t: float, dev: str, rec: str) -> None:
        rs = self.ctx.records.get(rec)
        if rs is None:
            self.fail(t, dev, f"{kind} of {rec} at {fmt_t(t)}: no dispatch named that record before")
        elif rs.assigned_within(dev, t - self.p["scope_slack_s"]):
            self.passed()
        else:
            self.fail(t, dev, f"{kind} of {rec} at {fmt_t(t)} to {dev}, assigned to {rs.assignee or 'nobody'}")

    def _on(self, kind: str, ev, ds) -> None:
        if self.ctx.any_dispatch:
            self._judge(kind, ev["t"], ds.dev, ev["record"])
        else:
            self._early.append((ev["t"], ds.dev, ev["record"], kind))

    def on_push(self, ev, ds) -> None:
        self._on("push", ev, ds)

    def on_srv_push(self, ev, ds) -> None:
        self._on("srv_push", ev, ds)

    def finish(self, end_t) -> None:
        if not self.ctx.any_dispatch:
            return
        for t, dev, rec, kind in self._early:
            self.fail(t, dev, f"{kind} of {rec} at {fmt_t(t)}: no dispatch named that record before")
