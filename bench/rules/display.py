"""Shared machinery of the two "what the user sees" rules.

Theory of operation: per device the rule knows the *truth* (derived from the
trace) and the *displayed* value (from the device's own display events). While
the app is running, a mismatch is excused during a grace period that ends
``display_lag_s`` after the truth last changed or the app started running
("except within display_lag_s after the true number changes or the app starts
running"). A mismatch that outlasts both its start and the grace period is one
violation per mismatch stretch, reported at the moment it stopped being
excused. The check is a window on the checker's clock, fired only by an event
strictly later than its deadline, so a display corrected at the very same
``t`` never fails and one corrected exactly at the end of the grace passes.

Instances: each display event and each change of the truth while the app is
running. One that matches passes at once; one that does not is judged when it
is corrected (pass) or when the grace runs out (fail); one still excused when
the app stops running or the trace ends is not judged ("cut short").
"""

from __future__ import annotations

from typing import Any

from bench.rules.base import Rule, fmt_t
from bench.rules.window import Window


def observation_lag(meta: dict[str, Any]) -> float:
    """``meta.observation_lag_s``: how far the trace's sync times may trail or lead the
    app's own clock, in spec seconds (a capture sees the wire, not the app; the
    app finishes a sync some milliseconds after its last byte). Display rules,
    which hold what the app shows against those times, widen their tolerance
    by it; 0 for a device's own trace."""
    v = meta.get("observation_lag_s", 0)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and v > 0 else 0.0


class DisplayRule(Rule):
    params = ("display_lag_s",)
    initial: Any = None
    # The display event kind, for messages ("unsent", "last_sync").
    shown_kind: str = ""

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._shown: dict[str, Any] = {}
        self._grace_from: dict[str, float] = {}  # last truth change
        self._mismatch_since: dict[str, float] = {}
        self._reported: set[str] = set()
        self._win: dict[str, Window] = {}
        self._seen = observation_lag(ctx.meta)  # the meta is fixed for the whole trace

    # Subclasses provide these.
    def truth(self, ds) -> Any:
        raise NotImplementedError

    def matches(self, shown: Any, truth: Any) -> bool:
        raise NotImplementedError

    def describe(self, dev: str, shown: Any, truth: Any) -> str:
        raise NotImplementedError

    # -- events ---------------------------------------------------------------
    def show(self, ds, value: Any, t: float) -> None:
        self._shown[ds.dev] = value
        self._evaluate(ds, t, instance=True)

    def truth_changed(self, ds, t: float) -> None:
        self._grace_from[ds.dev] = t
        self._evaluate(ds, t, instance=True)

    def on_app(self, ev, ds) -> None:
        self._evaluate(ds, ev["t"], instance=False)

    # -- judgement ------------------------------------------------------------
    def _evaluate(self, ds, t: float, *, instance: bool) -> None:
        dev = ds.dev
        old = self._win.pop(dev, None)
        if old is not None:
            old.close()
        if not ds.running:
            # "while running": closing the app cuts a pending mismatch.
            self._mismatch_since.pop(dev, None)
            self._reported.discard(dev)
            return
        shown = self._shown.get(dev, self.initial)
        truth = self.truth(ds)
        if self.matches(shown, truth):
            if instance or old is not None:
                self.passed()  # matches now, or a pending mismatch was corrected in time
            self._mismatch_since.pop(dev, None)
            self._reported.discard(dev)
            return
        since = self._mismatch_since.setdefault(dev, t)
        if dev in self._reported:
            return  # one violation per mismatch stretch
        seen = self._seen
        lag = self.p["display_lag_s"] + seen
        # running_since is set whenever the app is running (state.py); 0.0 is a time.
        started = ds.running_since if ds.running_since is not None else t
        grace_end = max(self._grace_from.get(dev, float("-inf")), started) + lag
        # Times seen off the device may trail or lead its own by ``seen``: a
        # mismatch no longer than that is not one.
        deadline = max(grace_end, since + seen)
        self._win[dev] = self.window(dev, deadline, self._expired, data=(since, shown, truth))

    def _expired(self, w: Window) -> None:
        since, shown, truth = w.data
        self._win.pop(w.dev, None)
        self._reported.add(w.dev)
        self.fail(w.deadline, w.dev, f"{self.describe(w.dev, shown, truth)} (mismatch since {fmt_t(since)})")
