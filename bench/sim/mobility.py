"""Mobility in the simulator: a light process walking a preset's Markov chain.

Theory of operation: a device's link follows either explicit steps (a
scenario's ``link`` steps: at ``t``, profile) or a mobility preset, a Markov
chain over link profiles (the one table: ``bench/link/mobility.yaml``, shown
in docs/links.md): the phone stays on a profile for an exponential dwell with
the profile's mean, then moves to a profile drawn by the weights of that row.
:func:`markov` makes the same draws in the same order as
``MobilityModel.steps``, which the real runner plays through the proxy, so a
seed gives the same day in both modes.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from bench.link.mobility import MobilityModel
from bench.sim.ports import SimDevice


def markov(device: SimDevice, model: MobilityModel, rng: Any, start: str) -> Generator[float, None, None]:
    """Light process (bench.sim.calls.spawn: it yields its waits): move ``device``
    through ``model``'s chain until it stops,
    with the draws of ``MobilityModel.steps`` (a dwell, then a move)."""
    if model.static:
        return
    state = model.first(start)
    while True:
        yield model.dwell(state, rng)
        if device.stopped:
            return
        state = model.move(state, rng)
        device.set_link(state)
