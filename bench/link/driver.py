"""Play a link timeline against one device's proxy, at time scale K.

Theory of operation
-------------------
The driver walks a timeline (``bench.link.mobility``) in wall time: step
``t`` (spec seconds) is due ``t / K`` wall seconds after the start. At each
step it applies the profile to the device's proxy (``apply``), then, when the
link class changed, tells the device the way an OS would (``on_link``) and
emits a trace ``link`` event stamped with the step's spec time::

    timeline ─► wait until start + t/K ─► apply(profile, K) ─► on_link(class) ─► emit(link event)

Every profile is checked against K before the first step
(``check_time_scale``), so a K the proxy cannot honour is refused up front.
``lateness`` keeps how late each step was applied (wall seconds); transfers
the device makes are compared with their targets by ``timescale.drift``.

The clock and the sleep are injected; ``apply`` may be sync (run in a worker
thread, so a server on this loop keeps serving) or a coroutine function.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bench.link.mobility import Step, timeline
from bench.link.profiles import Profile, get_profile
from bench.link.timescale import check_time_scale
from bench.trace import event

Apply = Callable[[Profile, float], Awaitable[Any] | Any]


def client_applier(client: Any, proxy: str, *,
                   base_rtt_ms: dict[str, float] | None = None) -> Apply:
    """``apply`` for a :class:`~bench.link.client.LinkClient` and a proxy name
    (``base_rtt_ms``: per profile, the path's own round trip, off the scaled latency)."""
    comp = base_rtt_ms or {}

    def apply(profile: Profile, time_scale: float) -> None:
        client.apply_profile(proxy, profile, time_scale, base_rtt_ms=comp.get(profile.name, 0.0))

    return apply


class LinkDriver:
    """Moves one device's link through a timeline at time scale K."""

    def __init__(self, *, dev: str, apply: Apply, time_scale: float = 1.0,
                 on_link: Callable[[str], Any] | None = None,
                 emit: Callable[[dict], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 base_rtt_ms: dict[str, float] | None = None) -> None:
        self.dev = dev
        self.apply = apply
        self.time_scale = time_scale
        self.on_link = on_link
        self.emit = emit
        self.clock = clock
        self.sleep = sleep
        self.link_class: str | None = None
        self.profile: Profile | None = None
        self.lateness: list[float] = []
        self.base_rtt_ms = base_rtt_ms or {}  # per profile: the path's own round trip

    def check(self, steps: Iterable[Step]) -> None:
        """Raise ``TimeScaleError`` if any profile of ``steps`` cannot run at this K."""
        for name in dict.fromkeys(s.profile for s in steps):
            check_time_scale(name, self.time_scale, base_rtt_ms=self.base_rtt_ms.get(name, 0.0))

    async def _apply(self, profile: Profile) -> None:
        if inspect.iscoroutinefunction(self.apply):
            await self.apply(profile, self.time_scale)
        else:
            await asyncio.to_thread(self.apply, profile, self.time_scale)

    async def run(self, steps: Iterable[Step | tuple[float, str]], *,
                  start: float | None = None) -> None:
        """Play ``steps``; returns after the last one is applied."""
        plan = timeline(steps)
        self.check(plan)
        k = self.time_scale
        start = self.clock() if start is None else start
        for step in plan:
            wait = start + step.t / k - self.clock()
            if wait > 0:
                await self.sleep(wait)
            profile = get_profile(step.profile)
            await self._apply(profile)
            self.lateness.append(max(0.0, self.clock() - (start + step.t / k)))
            self.profile = profile
            if profile.link_class != self.link_class:
                self.link_class = profile.link_class
                if self.on_link is not None:
                    self.on_link(profile.link_class)
                if self.emit is not None:
                    self.emit(event("link", step.t, self.dev, class_=profile.link_class))
