"""Spec time for a real device: ``t = (now - epoch) * K``.

Theory of operation: the engine works in spec seconds (spec/trace.md: "``t``:
seconds since the start of the run, in *spec time*"); the real device lives in
wall time. :class:`SpecClock` is the one place that converts: it takes a wall
clock (injected; ``time.time`` by default, because the server stamps its trace
from the same wall clock and ``--trace-epoch``, so both traces merge), the
trace epoch (wall seconds of t = 0) and the time scale K (spec/links.md: "policy
timers run K times faster"). A spec deadline ``d`` is ``(d - now) / K`` wall
seconds away.

The clock never goes backwards: a wall clock stepped back (NTP) would make the
trace invalid ("``t`` going backwards"), so :meth:`now` returns the larger of
the reading and the last value it returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable

WallClock = Callable[[], float]


class SpecClock:
    """``SpecClock(epoch=..., time_scale=K, wall=time.time)``."""

    def __init__(self, *, epoch: float, time_scale: float, wall: WallClock = time.time) -> None:
        if not time_scale > 0:
            raise ValueError(f"SpecClock.time_scale: must be > 0, got {time_scale!r}")
        self.epoch = float(epoch)
        self.time_scale = float(time_scale)
        self._wall = wall
        self._last = float("-inf")

    def now(self) -> float:
        """Spec seconds since the epoch (non-decreasing)."""
        t = (self._wall() - self.epoch) * self.time_scale
        if t < self._last:
            t = self._last
        self._last = t
        return t

    def wall_delay(self, spec_deadline: float) -> float:
        """Wall seconds until spec time ``spec_deadline`` (0 if it has passed)."""
        return max(0.0, (spec_deadline - self.now()) / self.time_scale)

    def to_wall(self, spec_seconds: float) -> float:
        """A spec duration in wall seconds."""
        return spec_seconds / self.time_scale
