"""``respond(E, X, strict)``: the device answers event E with a sync (rules.md).

"Let s be t_E, or, if a sync is in progress at E, the t of that sync's
sync_end. Satisfied when a sync_start comes after E with t <= s + X. When not
strict, a sync in progress at E also satisfies it. Judged only if the device is
online and running from t_E to s + X."

Theory of operation: an instance is *waiting* while the sync in progress at E
has not ended (s unknown), then *open* with deadline s + X. Any later
``sync_start`` on the device satisfies both. While a device has instances of a
rule, that rule's :class:`Respond` is among the device's ``sync_waiters``, and
the checker hands it the device's ``sync_start``/``sync_end``; a device with
none costs the rule nothing per sync (most syncs answer nothing). Leaving "online and running" cuts
every instance of the device (not judged). If several syncs are in progress at
E, s is the end of the last of them: only then is the device free to answer
(the spec says "that sync's sync_end", one sync; this is the reading for several).
A window ending at or before the trace's last known event has been seen whole
and is judged at the end; one ending later, or still waiting, is "cut short ...
by the end of the trace" and is not.
"""

from __future__ import annotations

from typing import Any

from bench.rules.base import Rule, fmt_t
from bench.rules.state import DeviceState
from bench.rules.window import Window, expire_due


class Respond:
    """A rule's collection of respond() instances."""

    def __init__(self, rule: Rule, x: float, *, strict: bool) -> None:
        self.rule = rule
        self.x = x
        self.strict = strict
        self._waiting: dict[str, list[tuple[float, str]]] = {}
        self._open: dict[str, list[Window]] = {}

    def open(self, t: float, ds: DeviceState, what: str) -> None:
        """Start an instance for event E at ``t`` described by ``what``."""
        if not ds.active:
            return  # not online and running at E: not judged
        if ds.syncs:
            if not self.strict:
                self.rule.passed()
                return
            self._waiting.setdefault(ds.dev, []).append((t, what))
        else:
            self._start(ds.dev, t, t + self.x, what)
        if self not in ds.sync_waiters:
            ds.sync_waiters.append(self)

    def _start(self, dev: str, t_e: float, deadline: float, what: str) -> None:
        w = self.rule.window(dev, deadline, self._expired, data=(t_e, what))
        self._open.setdefault(dev, []).append(w)

    def _expired(self, w: Window) -> None:
        t_e, what = w.data
        self.rule.fail(t_e, w.dev, f"{what} at {fmt_t(t_e)} got no sync_start by {fmt_t(w.deadline)}")
        lst = self._open.get(w.dev)
        if lst and w in lst:
            lst.remove(w)

    def sync_start(self, ev: dict[str, Any], ds: DeviceState) -> None:
        dev = ds.dev
        ds.sync_waiters.remove(self)  # nothing of this device is left waiting
        waiting = self._waiting.pop(dev, None)
        if waiting:
            self.rule.passed(len(waiting))
        opened = self._open.pop(dev, None)
        if opened:
            for w in opened:
                if w.open:
                    w.close()
                    self.rule.passed()

    def sync_end(self, ev: dict[str, Any], ds: DeviceState) -> None:
        if ds.syncs:
            return  # another sync still in progress: s is later
        waiting = self._waiting.pop(ds.dev, None)
        if waiting:
            t = ev["t"]
            for t_e, what in waiting:
                # "s ... the t of that sync's sync_end": the deadline moves to s + X.
                self._start(ds.dev, t_e, t + self.x, f"{what} (during sync {ev['sync']}, ended at {fmt_t(t)})")

    def on_down(self, ds: DeviceState, t: float) -> None:
        # "Judged only if the device is online and running from t_E to s + X":
        # leaving either cuts every instance of the device, waiting or open.
        self._waiting.pop(ds.dev, None)
        for w in self._open.pop(ds.dev, ()):
            w.close()
        if self in ds.sync_waiters:
            ds.sync_waiters.remove(self)

    def finish(self, end_t: float | None) -> None:
        """At the end of the trace: a window ending at or before it was seen whole.

        A waiting instance (its sync never ended, so s is unknown) and a window
        ending after ``end_t`` are "cut short ... by the end of the trace": not judged.
        """
        expire_due([w for ws in self._open.values() for w in ws], end_t)


class RespondRule(Rule):
    """A rule whose instances are all respond() instances; subclasses call
    ``self.respond.open(...)`` from their trigger handlers."""

    respond_param: str
    strict: bool

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self.respond = Respond(self, self.p[self.respond_param], strict=self.strict)

    def on_down(self, ds: DeviceState, t: float) -> None:
        self.respond.on_down(ds, t)

    def finish(self, end_t: float | None) -> None:
        self.respond.finish(end_t)
