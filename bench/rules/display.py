"""Shared machinery of the two "what the user sees" rules.

Theory of operation: per device the rule knows the *truth* (derived from the
trace) and the *displayed* value (from the device's own display events). While
the app is running, a mismatch is excused during a grace period that ends
``display_lag_s`` after the truth last changed or the app started running;
a mismatch that outlasts both its start and the grace period is one violation
per mismatch stretch. The check is a window on the checker's clock, so a
display corrected at the very same ``t`` never fails.
"""

from __future__ import annotations

from typing import Any

from bench.rules.base import Rule, Window, fmt_t


class DisplayRule(Rule):
    params = ("display_lag_s",)
    initial: Any = None

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._shown: dict[str, Any] = {}
        self._grace_from: dict[str, float] = {}  # last truth change
        self._mismatch_since: dict[str, float] = {}
        self._reported: set[str] = set()
        self._win: dict[str, Window] = {}

    # Subclasses provide these two.
    def truth(self, ds) -> Any:
        raise NotImplementedError

    def matches(self, shown: Any, truth: Any) -> bool:
        raise NotImplementedError

    def describe(self, shown: Any, truth: Any) -> str:
        raise NotImplementedError

    # -- events ---------------------------------------------------------------
    def show(self, ds, value: Any, t: float) -> None:
        self._shown[ds.dev] = value
        if ds.running:
            self.passed()
        self._evaluate(ds, t)

    def truth_changed(self, ds, t: float) -> None:
        self._grace_from[ds.dev] = t
        if ds.running:
            self.passed()
        self._evaluate(ds, t)

    def on_app(self, ev, ds) -> None:
        self._evaluate(ds, ev["t"])

    # -- judgement ------------------------------------------------------------
    def _evaluate(self, ds, t: float) -> None:
        dev = ds.dev
        old = self._win.pop(dev, None)
        if old is not None:
            old.close()
        if not ds.running:
            self._mismatch_since.pop(dev, None)
            self._reported.discard(dev)
            return
        shown = self._shown.get(dev, self.initial)
        truth = self.truth(ds)
        if self.matches(shown, truth):
            self._mismatch_since.pop(dev, None)
            self._reported.discard(dev)
            return
        since = self._mismatch_since.setdefault(dev, t)
        if dev in self._reported:
            return
        lag = self.p["display_lag_s"]
        grace_end = max(self._grace_from.get(dev, float("-inf")), ds.running_since or t) + lag
        deadline = max(grace_end, since)
        self._win[dev] = self.window(dev, deadline, self._expired, data=(since, shown, truth))

    def _expired(self, w: Window) -> None:
        since, shown, truth = w.data
        self._win.pop(w.dev, None)
        self._reported.add(w.dev)
        self.fail(w.deadline, w.dev, f"{self.describe(shown, truth)} since {fmt_t(since)}")
