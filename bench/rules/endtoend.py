"""Push rules judged end to end, from the dispatcher's record and the devices' traces.

Theory of operation: ``planado.push_sent`` and ``planado.push_delivered`` read
the server's ``srv_push`` events. A team's own server writes none, but the
bench still knows both ends: what the dispatcher did (``dispatch``, written
by the runner) and what reached each device (``push``). When the trace's meta
says ``server_trace: false`` (the runner's word that the server wrote no trace
of ours) and it holds no ``srv_push``, these rules judge the pushes
docs/protocol.md promises -- "Every dispatcher operation on a record pushes to
all devices of the record's assignee after the operation; an ``assign`` to
someone else or an ``unassign`` also pushes ``unassign`` to the previous
assignee's devices" -- by their arrival within ``push_send_s + push_deliver_s``.

An instance is judged only when the device could receive it the whole time:
its push channel up (``push_channel`` events, written by a client that knows
its socket) from the dispatch to the deadline, or, for a device whose trace
says nothing of its channel, online and running from ``push_deliver_s`` before
the dispatch to the deadline. Memory: the dispatches and the devices'
intervals, until the end of the trace.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from bench.rules.base import fmt_t


@dataclass(slots=True)
class _Intervals:
    """Closed stretches ``[a, b]`` in time order; the last one may be open."""

    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)  # inf while open

    def up(self, t: float) -> None:
        if not self.ends or self.ends[-1] != float("inf"):
            self.starts.append(t)
            self.ends.append(float("inf"))

    def down(self, t: float) -> None:
        if self.ends and self.ends[-1] == float("inf"):
            self.ends[-1] = t

    def covers(self, lo: float, hi: float) -> bool:
        i = bisect.bisect_right(self.starts, lo) - 1
        return i >= 0 and self.ends[i] >= hi


@dataclass(slots=True, frozen=True)
class Expected:
    t: float
    op: str
    record: str
    dev: str
    previous: bool  # the push to the previous assignee of an assign/unassign


class EndToEndPushes:
    """What a rule mixes in to judge pushes without ``srv_push`` (see the module)."""

    def _e2e_init(self) -> None:
        self._e2e_expected: list[Expected] = []
        self._e2e_assignee: dict[str, str | None] = {}
        self._e2e_pushes: dict[tuple[str, str], list[float]] = {}
        self._e2e_channel: dict[str, _Intervals] = {}
        self._e2e_any_srv_push = False
        self._e2e_active: dict[str, _Intervals] = {}
        # Only a trace whose meta says the server wrote none is judged end to end.
        self._e2e_off = self.ctx.meta.get("server_trace") is not False  # type: ignore[attr-defined]

    def _e2e_seen_srv_push(self) -> None:
        """The trace has the server's pushes: the end-to-end form is off (and its memory freed)."""
        self._e2e_any_srv_push = True
        if not self._e2e_off:
            self._e2e_off = True
            self._e2e_expected.clear()
            self._e2e_pushes.clear()
            self._e2e_channel.clear()
            self._e2e_active.clear()

    def _e2e_dispatch(self, ev) -> None:
        if self._e2e_off:
            return
        rec, after = ev["record"], ev["assignee"]
        before = self._e2e_assignee.get(rec)
        self._e2e_assignee[rec] = after
        if after is not None:
            self._e2e_expected.append(Expected(ev["t"], ev["op"], rec, after, False))
        if before is not None and before != after:
            self._e2e_expected.append(Expected(ev["t"], ev["op"], rec, before, True))

    def on_push(self, ev, ds) -> None:
        if self._e2e_off:
            return
        self._e2e_pushes.setdefault((ds.dev, ev["record"]), []).append(ev["t"])

    def on_push_channel(self, ev, ds) -> None:
        if self._e2e_off:
            return
        iv = self._e2e_channel.setdefault(ds.dev, _Intervals())
        (iv.up if ev["up"] else iv.down)(ev["t"])

    def on_up(self, ds, t) -> None:
        if self._e2e_off:
            return
        self._e2e_active.setdefault(ds.dev, _Intervals()).up(t)

    def on_down(self, ds, t) -> None:
        if self._e2e_off:
            return
        self._e2e_active.setdefault(ds.dev, _Intervals()).down(t)

    def _e2e_na_reason(self) -> str | None:
        """Why the end-to-end form judged nothing (None: it was not the form in use)."""
        if self._e2e_off:
            return None
        if self._e2e_channel and not any(iv.starts for iv in self._e2e_channel.values()):
            return ("no device's push channel ever came up: the server's push socket "
                    "(/v1/push) was not reachable; a server that pushes another way (FCM/APNs) "
                    "reports receipts as `push` events (docs/real.md, \"Push another way\")")
        if not self._e2e_expected:
            return "the dispatcher's record has no operation that implies a push"
        return ("no dispatch while its device's push channel held up to the deadline "
                "(judged end to end: the server wrote no trace)")

    def _e2e_judge(self, end_t: float | None, *, previous: bool) -> None:
        """Judge the expected pushes (``previous``: those to the previous assignee too)."""
        if self._e2e_off or end_t is None:
            return
        p = self.p  # type: ignore[attr-defined]
        window = p.get("push_send_s", 5) + p.get("push_deliver_s", 5)
        for x in self._e2e_expected:
            if x.previous and not previous:
                continue
            deadline = x.t + window
            if deadline > end_t:
                continue  # cut by the end of the trace: not judged
            chan = self._e2e_channel.get(x.dev)
            if chan is not None:
                if not chan.covers(x.t, deadline):
                    continue
            else:
                act = self._e2e_active.get(x.dev)
                if act is None or not act.covers(x.t - p.get("push_deliver_s", 5), deadline):
                    continue
            times = self._e2e_pushes.get((x.dev, x.record), ())
            i = bisect.bisect_left(times, x.t)
            if i < len(times) and times[i] <= deadline:
                self.passed()  # type: ignore[attr-defined]
            else:
                whom = "its previous assignee" if x.previous else "the assignee"
                self.fail(x.t, x.dev,  # type: ignore[attr-defined]
                          f"dispatch {x.op} of {x.record} at {fmt_t(x.t)}: no push reached "
                          f"{x.dev} ({whom}, push channel up) by {fmt_t(deadline)} -- judged end "
                          f"to end: the trace has the dispatcher's record but no srv_push")
