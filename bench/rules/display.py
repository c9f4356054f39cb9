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

Most mismatches last no longer than their instant: the truth changes (a
sync_end, an edit) and the display event written at the same ``t`` corrects
it. So a mismatch is first only *pending* on the device's screen state; its
window (deadline, message) is made when the clock moves past the instant with
the mismatch still there (Context.at_instant_end), from the same state the
last evaluation saw -- any change of the shown value, the truth or the app
state re-evaluates -- and never for one corrected at once.

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


class _Screen:
    """What one device shows and how its display stands, for one display rule."""

    __slots__ = ("dev", "shown", "grace_from", "since", "reported", "win", "pending", "truth")

    def __init__(self, dev: str, shown: Any) -> None:
        self.dev = dev
        self.shown = shown
        self.grace_from = float("-inf")  # last truth change
        self.since: float | None = None  # start of the current mismatch stretch
        self.reported = False  # the stretch already failed: one violation per stretch
        self.win: Window | None = None  # its deadline, on the clock
        self.pending = False  # a mismatch waiting for the end of its instant (in the rule's queue)
        self.truth: Any = None  # the subclass's truth, where it keeps its own


class DisplayRule(Rule):
    params = ("display_lag_s",)
    initial: Any = None
    # The display event kind, for messages ("unsent", "last_sync").
    shown_kind: str = ""

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._k = ctx.own_slot()  # per device: its _Screen
        self._queue: list[_Screen] = []  # screens with a mismatch pending in this instant
        self._settle_fn = self._settle
        self._instant_end = ctx.instant_end  # the clock's list (at_instant_end)
        self._seen = observation_lag(ctx.meta)  # the meta is fixed for the whole trace
        self._lag = self.p["display_lag_s"] + self._seen

    def screen(self, ds) -> _Screen:
        sc = ds.own[self._k]
        if sc is None:
            sc = ds.own[self._k] = _Screen(ds.dev, self.initial)
        return sc

    # Subclasses provide these.
    def truth(self, ds, sc: _Screen) -> Any:
        """The true value now (for messages)."""
        raise NotImplementedError

    def agrees(self, ds, sc: _Screen) -> bool:
        """Does the shown value (``sc.shown``) match the truth now? One call per
        evaluation, every display event and truth change: kept to one."""
        raise NotImplementedError

    def describe(self, dev: str, shown: Any, truth: Any) -> str:
        raise NotImplementedError

    # -- events ---------------------------------------------------------------
    def show(self, ds, value: Any, t: float) -> None:
        sc = ds.own[self._k] or self.screen(ds)
        sc.shown = value
        self._evaluate(ds, sc, t, True)

    def truth_changed(self, ds, t: float, sc: _Screen | None = None) -> None:
        if sc is None:
            sc = ds.own[self._k] or self.screen(ds)
        sc.grace_from = t
        self._evaluate(ds, sc, t, True)

    def on_app(self, ev, ds) -> None:
        self._evaluate(ds, ds.own[self._k] or self.screen(ds), ev["t"], False)

    # -- judgement ------------------------------------------------------------
    def _evaluate(self, ds, sc: _Screen, t: float, instance: bool) -> None:
        win = sc.win
        if win is not None:
            win.open = False  # closed: the clock skips it
            sc.win = None
            old = True  # a mismatch was pending
        elif sc.pending:
            sc.pending = False
            q = self._queue
            q.remove(sc)
            if not q:  # nothing left for the end of the instant
                self._instant_end.remove(self._settle_fn)
            old = True
        else:
            old = False
        if not ds.running:
            # "while running": closing the app cuts a pending mismatch.
            sc.since = None
            sc.reported = False
            return
        if self.agrees(ds, sc):
            if instance or old:
                self.judged += 1  # matches now, or a pending mismatch was corrected in time
            sc.since = None
            sc.reported = False
            return
        if sc.since is None:
            sc.since = t
        if sc.reported:
            return  # one violation per mismatch stretch
        sc.pending = True
        if not self._queue:
            self._instant_end.append(self._settle_fn)  # ctx.at_instant_end, inline
        self._queue.append(sc)

    def _settle(self) -> None:
        """The instant is over: a mismatch still pending gets its window."""
        t = self.ctx.now
        devices = self.ctx.devices
        for sc in self._queue:
            sc.pending = False
            ds = devices[sc.dev]
            # running_since is set whenever the app is running (state.py); 0.0 is a time.
            started = ds.running_since if ds.running_since is not None else t
            grace_end = max(sc.grace_from, started) + self._lag
            # Times seen off the device may trail or lead its own by ``seen``: a
            # mismatch no longer than that is not one.
            deadline = max(grace_end, sc.since + self._seen)
            sc.win = self.window(sc.dev, deadline, self._expired, data=(sc.since, sc.shown, self.truth(ds, sc)))
        self._queue.clear()

    def _expired(self, w: Window) -> None:
        since, shown, truth = w.data
        sc = self.ctx.devices[w.dev].own[self._k]
        sc.win = None
        sc.reported = True
        self.fail(w.deadline, w.dev, f"{self.describe(w.dev, shown, truth)} (mismatch since {fmt_t(since)})")
