"""Mobility: how a phone's link changes over the day.

Theory of operation: a device's link follows either explicit steps (a
scenario's ``link`` steps: at ``t``, profile) or a mobility preset, a Markov
chain over link profiles: the phone stays in a profile for an exponential
dwell time with the profile's mean, then moves to another profile drawn by
the weights of that row::

    urban:  wifi (40 min) ──> lte 0.7 | 3g 0.2 | offline 0.1
            lte  (30 min) ──> wifi 0.5 | 3g 0.35 | offline 0.15 ...

The presets are illustrative, not measured: they encode the common story of
each setting (urban: mostly LTE and Wi-Fi with short dead spots; rural: EDGE
and GPRS with long gaps; underground: minutes-long tunnels between stations)
so that a scenario exercises the fast, slow and offline cases in proportions a
reader can predict. The chain draws from the device's injected RNG, so a seed
fixes the whole day.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from bench.sim.ports import SimDevice


@dataclass(frozen=True, slots=True, kw_only=True)
class Mobility:
    name: str
    start: str  # the profile a device starts in
    dwell_s: dict[str, float]  # mean dwell per profile
    moves: dict[str, tuple[tuple[str, float], ...]]  # profile -> (next, weight)

    def next(self, state: str, rng: Any) -> str:
        row = self.moves[state]
        x = rng.random() * sum(w for _, w in row)
        for name, w in row:
            x -= w
            if x < 0:
                return name
        return row[-1][0]


MIN = 60.0
PRESETS: dict[str, Mobility] = {
    "urban": Mobility(
        name="urban", start="lte",
        dwell_s={"wifi": 40 * MIN, "lte": 30 * MIN, "3g": 10 * MIN, "offline": 2 * MIN},
        moves={"wifi": (("lte", 0.7), ("3g", 0.2), ("offline", 0.1)),
               "lte": (("wifi", 0.5), ("3g", 0.35), ("offline", 0.15)),
               "3g": (("lte", 0.7), ("wifi", 0.2), ("offline", 0.1)),
               "offline": (("lte", 0.7), ("3g", 0.3))}),
    "suburban": Mobility(
        name="suburban", start="lte",
        dwell_s={"wifi": 30 * MIN, "lte": 25 * MIN, "3g": 20 * MIN, "edge": 5 * MIN,
                 "offline": 3 * MIN},
        moves={"wifi": (("lte", 0.6), ("3g", 0.4)),
               "lte": (("3g", 0.5), ("wifi", 0.3), ("edge", 0.1), ("offline", 0.1)),
               "3g": (("lte", 0.5), ("edge", 0.3), ("offline", 0.1), ("wifi", 0.1)),
               "edge": (("3g", 0.7), ("offline", 0.3)),
               "offline": (("3g", 0.6), ("edge", 0.4))}),
    "rural": Mobility(
        name="rural", start="edge",
        dwell_s={"edge": 30 * MIN, "gprs": 10 * MIN, "3g": 15 * MIN, "lte": 10 * MIN,
                 "offline": 10 * MIN},
        moves={"edge": (("gprs", 0.3), ("3g", 0.3), ("offline", 0.3), ("lte", 0.1)),
               "gprs": (("edge", 0.6), ("offline", 0.4)),
               "3g": (("edge", 0.6), ("lte", 0.2), ("offline", 0.2)),
               "lte": (("3g", 0.6), ("edge", 0.4)),
               "offline": (("edge", 0.6), ("gprs", 0.3), ("3g", 0.1))}),
    "underground": Mobility(
        name="underground", start="lte",
        dwell_s={"lte": 3 * MIN, "3g": 3 * MIN, "edge": 2 * MIN, "wifi": 2 * MIN,
                 "offline": 2 * MIN},
        moves={"lte": (("offline", 0.6), ("3g", 0.2), ("edge", 0.2)),
               "3g": (("offline", 0.6), ("lte", 0.4)),
               "edge": (("offline", 0.5), ("3g", 0.5)),
               "wifi": (("offline", 0.7), ("lte", 0.3)),
               "offline": (("lte", 0.4), ("3g", 0.2), ("edge", 0.2), ("wifi", 0.2))}),
    "static": Mobility(name="static", start="lte", dwell_s={}, moves={}),
}


def markov(device: SimDevice, preset: Mobility, rng: Any, start: str) -> Generator[Any, Any, None]:
    """SimPy process: move ``device`` through ``preset``'s chain until it stops."""
    if not preset.moves:
        return
    env = device.env
    state = start if start in preset.dwell_s else preset.start
    while True:
        yield env.timeout(rng.expovariate(1.0 / preset.dwell_s[state]))
        if device.stopped:
            return
        state = preset.next(state, rng)
        device.set_link(state)
