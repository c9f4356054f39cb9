"""The time scale K of a real run: asked for, or chosen from the scenario.

Theory of operation: spec/links.md "refuse a K it cannot honour". With
``--time-scale auto`` (the default) K is the largest the calibration
(``bench.real.calibrate``) found for every shaped profile the scenario uses
before its settle window, capped at :data:`AUTO_MAX_K`, then lowered for a
large fleet (more devices load the same two cores)::

    profiles used ──> calibrate (cached) ──> min over profiles, <= AUTO_MAX_K
                                         ──> x RUN_MARGIN (the machine's pace moves)
                                         ──> fleet: x (FLEET_FREE / devices) ** FLEET_EXPONENT
                                         ──> K, and one line saying why

A profile no K >= 1 can honour refuses the run, naming the profile and the
drift it showed at K = 1. An explicit K is kept as asked (the proxy's own
limits still refuse it, ``plan.check_scale``); both get the machine's base
round trip, which the links take off their scaled latency.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from bench.link.profiles import get_profile
from bench.link.timescale import DRIFT_TOLERANCE
from bench.real.calibrate import BUDGET, MAX_K, RUN_MARGIN, Calibration, _nice, calibrate, run_k
from bench.real.plan import DevicePlan, RealRunError

# The largest K auto picks (bench.real.calibrate.MAX_K: the rules' timings).
AUTO_MAX_K = MAX_K
# Devices a run carries at the calibrated K; a larger fleet lowers K (below).
# Its median transfer keeps up at the calibrated K, but its worst does not:
# devices that come back from a dead spot together set up their syncs, files
# and push sockets in the same wall instant, and that burst's work is wall
# time, so its share of a transfer grows with K x devices (measured,
# benchmarks/real_fleet.py: 10 devices at K = 44 worst +13..+25 %, at K = 13
# +1 %; 50 devices at K = 8.8 +17 %). Three is the real suite's largest item.
FLEET_FREE_DEVICES = 3
# How K falls with fleet size past FLEET_FREE_DEVICES: K x (free / n) ** exponent.
# The devices' work per wall second is K x devices: K falls as 1 / n
# (measured: 50 devices at K x sqrt(10 / 50) had a median drift of +6 % but
# transfers stalled behind busy moments for several times their target).
FLEET_EXPONENT = 1.0
# A link that moves more than this many KB per wall second at its K keeps the
# link proxy busy pacing bytes (Wi-Fi at K = 7: 26 MB/s, 3G at K = 60: 5.9);
# a suite runs such an item alone (bench.suite.lanes), as a neighbour's CPU
# then shows in its transfers (measured: planado-city, LTE and Wi-Fi at
# K = 7-9, drifted +8 % and +11 % beside other items, +2 to +6 % alone).
LANE_MAX_WALL_KBS = 8000.0
AUTO = "auto"


def auto_k(cal: Calibration, profiles: list[str] | tuple[str, ...]) -> float:
    """The K auto gives a run of a few devices on ``profiles``: RUN_MARGIN of
    the smallest calibrated K (below 1: a refused profile, as it is)."""
    return run_k(min((cal.profiles[p].k for p in profiles), default=AUTO_MAX_K))


def busy_links(profiles: list[str] | tuple[str, ...], k: float) -> bool:
    """Whether a link of ``profiles`` moves more than LANE_MAX_WALL_KBS at K."""
    return any(get_profile(p).shape(d).rate_kbps / 8 * k > LANE_MAX_WALL_KBS
               for p in profiles for d in ("down", "up"))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Scale:
    """The chosen K, the base round trip the links take off, and why."""

    k: float
    base_rtt_ms: dict[str, float]  # per profile, taken off its scaled latency
    auto: bool
    why: str

    def facts(self) -> dict[str, Any]:
        return {"k": self.k, "auto": self.auto, "why": self.why,
                "base_rtt_ms": dict(self.base_rtt_ms)}


def shaped_profiles(devices: list[DevicePlan]) -> list[str]:
    """The shaped profiles the devices use before the settle window."""
    return sorted({p for d in devices for _, p in d.links if get_profile(p).mode == "shaped"})


def fleet_k(k: float, devices: int) -> float:
    """K lowered for a fleet of ``devices`` (never below 1)."""
    if devices <= FLEET_FREE_DEVICES:
        return k
    return max(1.0, _nice(k * (FLEET_FREE_DEVICES / devices) ** FLEET_EXPONENT))


def choose_scale(devices: list[DevicePlan], requested: float | str | None, where: str, *,
                 calibrate_fn: Callable[..., Calibration] = calibrate) -> Scale:
    """K for a run of ``devices``: ``requested`` (a number) or auto (None or "auto")."""
    used = shaped_profiles(devices)
    cal = calibrate_fn(used)
    if requested is not None and requested != AUTO:
        k = float(requested)
        # The machine's own time per exchange, as measured at the auto run's K
        # (an explicit K far from it is compensated less exactly): the links
        # take it off their latency and give the rest back as burst credit.
        return Scale(k=k, base_rtt_ms=cal.comp_ms(), auto=False, why="--time-scale")
    if not used:
        k, why = AUTO_MAX_K, "no shaped link in the scenario"
    else:
        worst = min(used, key=lambda p: cal.profiles[p].k)
        ps = cal.profiles[worst]
        if ps.k < 1:
            raise RealRunError(
                f"{where}: no time scale K >= 1 honours profile {worst!r} on this machine: "
                f"{ps.why} (the calibration allows {BUDGET:.0%} of the run's {DRIFT_TOLERANCE:.0%} "
                "tolerance); run it in simulation (--mode sim) or on a faster machine")
        top = min(AUTO_MAX_K, ps.k)
        k = auto_k(cal, used)
        keep = "keeps" if len(used) == 1 else "keep"
        why = (f"{RUN_MARGIN:.0%} of K={top:g}, the largest at which {', '.join(used)} {keep} "
               f"within {BUDGET:.0%} here, bound by {worst}: {ps.why}")
    n = len(devices)
    lowered = fleet_k(k, n)
    if lowered < k:
        why += f"; lowered from K={k:g} for {n} devices (calibrated for {FLEET_FREE_DEVICES})"
        k = lowered
    cached = cal.note or ("cached calibration" if cal.cached else "calibrated now")
    return Scale(k=k, base_rtt_ms=cal.comp_ms(), auto=True, why=f"{why}; {cached}")

