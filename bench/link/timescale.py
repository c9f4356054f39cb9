"""Time scale K: which K a profile can honour, and how far transfers drifted.

Theory of operation
-------------------
links.md: "policy timers run K times faster, latency is divided by K and
bandwidth multiplied by K, so every transfer takes 1/K of its real time ...
The runner must report when the machine could not keep up (measured transfer
times that miss their scaled targets), and refuse a K it cannot honour."

Two limits make a K impossible for a profile:

- latency: the proxy delays in whole milliseconds and its event loop wakes
  with about 1 ms of resolution, so a scaled one-way latency that is not zero
  but under :data:`LATENCY_RESOLUTION_MS` cannot be produced;
- bandwidth: above :data:`MAX_RATE_KBS` per stream the proxy on loopback
  cannot carry the scaled rate (benchmarks/proxy_throughput.py measures the
  unshaped ceiling; this constant keeps a safety margin below it).

:func:`check_time_scale` raises :class:`TimeScaleError` naming the profile, K
and the largest K the profile allows. :func:`drift` compares measured
transfers with their scaled targets.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable

from bench.link.profiles import Profile, get_profile

# Smallest one-way delay the proxy can honour: latency attributes are whole
# milliseconds, and epoll timeouts are rounded up to the millisecond.
LATENCY_RESOLUTION_MS = 1.0
# Highest scaled rate per stream the bench asks of one proxied connection, in
# KB/s. benchmarks/proxy_throughput.py measured 265-490 MB/s unshaped through
# the proxy on a busy 2-core machine; 100 MB/s per stream leaves room for the
# other stream, other devices and the toxics' own work.
MAX_RATE_KBS = 100_000
# Tolerance for "kept up": a transfer within 10 % of its scaled target
# (the tolerance the profile tests hold the proxy to).
DRIFT_TOLERANCE = 0.10


class TimeScaleError(ValueError):
    """A time scale the proxy cannot honour for a profile."""


def max_time_scale(profile: Profile | str) -> float:
    """The largest K at which ``profile``'s latency and bandwidth can be honoured."""
    p = get_profile(profile)
    if p.mode != "shaped":
        return math.inf
    limits = []
    for direction in ("down", "up"):
        shape = p.shape(direction)
        if shape.latency_ms > 0:
            limits.append(shape.latency_ms / LATENCY_RESOLUTION_MS)
        if shape.rate_kbps > 0:
            limits.append(MAX_RATE_KBS / (shape.rate_kbps / 8))
    return min(limits, default=math.inf)


def check_time_scale(profile: Profile | str, time_scale: float, *,
                     base_rtt_ms: float = 0.0) -> None:
    """Raise :class:`TimeScaleError` unless ``profile`` can run at ``time_scale``.

    ``base_rtt_ms``: the path's own round trip (``Profile.toxics``); a scaled
    latency it covers whole is no delay for the proxy to produce, so the
    proxy's resolution does not bound it."""
    p = get_profile(profile)
    k = time_scale
    if not (isinstance(k, int | float) and k > 0 and math.isfinite(k)):
        raise TimeScaleError(f"time scale must be a positive number, got {k!r}")
    if p.mode != "shaped":
        return
    for direction in ("down", "up"):
        shape = p.shape(direction)
        latency = shape.latency_ms / k
        if 0 < latency < LATENCY_RESOLUTION_MS and latency > base_rtt_ms / 2:
            raise TimeScaleError(
                f"profile {p.name!r} cannot run at time scale K={k:g}: its {shape.latency_ms:g} ms "
                f"{direction}link latency becomes {latency:.3g} ms, below the proxy's "
                f"{LATENCY_RESOLUTION_MS:g} ms resolution (largest K: {max_time_scale(p):g})")
        rate = shape.rate_kbps / 8 * k
        if rate > MAX_RATE_KBS:
            raise TimeScaleError(
                f"profile {p.name!r} cannot run at time scale K={k:g}: its {direction}link rate "
                f"becomes {rate:g} KB/s, above the {MAX_RATE_KBS:g} KB/s the proxy carries "
                f"(largest K: {max_time_scale(p):g})")


def target_seconds(profile: Profile | str, nbytes: int, time_scale: float = 1.0,
                   direction: str = "down") -> float:
    """Wall seconds a one-way transfer of ``nbytes`` should take: (latency + bytes/rate) / K."""
    shape = get_profile(profile).shape(direction)
    return (shape.latency_ms / 1000 + nbytes / (shape.rate_kbps * 125)) / time_scale


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """Measured transfers against their scaled targets (relative: +0.1 = 10 % slow)."""

    samples: tuple[float, ...]
    worst: float
    mean: float
    tolerance: float = DRIFT_TOLERANCE

    @property
    def kept_up(self) -> bool:
        return abs(self.worst) <= self.tolerance


def drift(samples: Iterable[tuple], time_scale: float = 1.0,
          tolerance: float = DRIFT_TOLERANCE) -> Drift:
    """Relative drift of measured transfers from their targets.

    ``samples``: ``(bytes, seconds, profile)`` or ``(bytes, seconds, profile,
    direction)`` with direction ``"down"`` (default) or ``"up"``; seconds are
    wall seconds measured at time scale ``time_scale``.
    """
    rel = []
    for sample in samples:
        nbytes, seconds, profile, *rest = sample
        target = target_seconds(profile, nbytes, time_scale, rest[0] if rest else "down")
        rel.append((seconds - target) / target)
    if not rel:
        return Drift(samples=(), worst=0.0, mean=0.0, tolerance=tolerance)
    return Drift(samples=tuple(rel), worst=max(rel, key=abs), mean=sum(rel) / len(rel),
                 tolerance=tolerance)
