"""A scenario's devices: the explicit ones, then the fleet drawn from its mixes.

Theory of operation: the fleet's devices are drawn once, from the seed, with
one generator (``"<seed>/fleet"``): for each generated id in order, a mobility
preset and a behaviour preset from the fleet's mixes (``"none"`` meaning
none) and whether push is off. The simulator, the real runner and reports all
call :func:`device_specs`, so a seed names one fleet in every mode.
"""

from __future__ import annotations

import random

from bench.draw import weighted
from bench.scenario.model import DeviceSpec, FleetSpec, Scenario


def _mix(mix: tuple[tuple[str, float], ...], rng: random.Random) -> str | None:
    name = weighted(mix, rng)
    return None if name == "none" else name


def fleet_device(fl: FleetSpec, dev_id: str, policy: str, rng: random.Random) -> DeviceSpec:
    """One generated device (three draws: mobility, behaviour, push)."""
    return DeviceSpec(id=dev_id, client=fl.client or policy, link=fl.link,
                      mobility=_mix(fl.mobility, rng), behaviour=_mix(fl.behaviour, rng),
                      push=not (fl.push_off and rng.random() < fl.push_off), steps=fl.steps)


def device_specs(sc: Scenario) -> list[DeviceSpec]:
    """Explicit devices, then the generated fleet."""
    specs = list(sc.devices)
    fl = sc.fleet
    if fl.size:
        rng = random.Random(f"{sc.seed}/fleet")
        specs.extend(fleet_device(fl, dev_id, sc.policy, rng) for dev_id in fl.ids())
    return specs
