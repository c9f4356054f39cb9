"""The plan of a real run: who the devices are and what happens to their links.

Theory of operation: a scenario (``bench.scenario.Scenario``) is turned into
plain, picklable data before anything starts, so the same plan can be handed
to worker processes and so a K the proxy cannot honour is refused before a
single process is started::

    Scenario ──> devices()        explicit devices + the generated fleet
                                  (same draws as the simulator: rng "<seed>/fleet")
             ──> link_timeline()  explicit link steps, else draws of the
                                  device's mobility preset (rng "<seed>/<dev>/mobility")
             ──> check_scale()    every profile used before the settle window
                                  must run at K (bench.link.timescale)

The mobility chains are the one preset table (``bench/link/mobility.yaml``:
plain data, no SimPy), walked from the device's ``"<seed>/<dev>/mobility"``
stream (``bench.scenario.rng.stream``) exactly as the simulator walks them,
so a scenario file and a seed mean the same link timeline in both modes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bench.link.timescale import TimeScaleError, check_time_scale, max_time_scale
from bench.scenario.fleet import device_specs
from bench.scenario.model import DeviceSpec, Scenario, Step
from bench.scenario.rng import stream

# The time scale of a real run when neither the caller nor the command line
# gives one: spec/links.md "a 2-hour field day runs in 2 minutes" is K = 60.
DEFAULT_TIME_SCALE = 60.0


class RealRunError(ValueError):
    """A real run that cannot start or could not finish (one line, names what)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePlan:
    """One device of a real run, as plain data (picklable for worker processes)."""

    id: str
    policy: str  # the rule policy the client follows (planado or playmaker)
    mutant: str | None  # a reference_client.mutants name, or None
    push: bool  # push notifications enabled
    behaviour: str | None  # a bench.scenario.people preset name
    links: tuple[tuple[float, str], ...]  # (spec t, profile) before the settle window
    steps: tuple[Step, ...]  # explicit non-link steps
    seed: int  # the client's own seed (timer jitter, photo bytes)
    run_seed: int = 0  # the scenario's: the device's mobility and behaviour streams


def mobility_steps(preset: str, start: str, rng: random.Random,
                   duration_s: float) -> list[tuple[float, str]]:
    """The moves of mobility preset ``preset`` over ``[0, duration_s)`` after the
    start (the draws the simulator makes for the same device and seed)."""
    from bench.link.mobility import get_model

    steps = get_model(preset).steps(rng, duration_s, own=start)
    return [(s.t, s.profile) for s in steps[1:]]


def link_timeline(spec: DeviceSpec, sc: Scenario) -> tuple[tuple[float, str], ...]:
    """The device's link steps before the settle window, starting at t = 0."""
    first = next((s for s in spec.steps if s.kind == "link" and s.t == 0), None)
    start = first.value if first is not None else spec.link
    steps: list[tuple[float, str]] = [(0.0, start)]
    steps += [(s.t, s.value) for s in spec.steps if s.kind == "link" and s.t > 0]
    if spec.mobility is not None:
        rng = stream(sc.seed, spec.id, "mobility")
        steps += mobility_steps(spec.mobility, start, rng, sc.duration_s)
    steps.sort(key=lambda s: s[0])
    return tuple(steps)


def plan_devices(sc: Scenario) -> list[DevicePlan]:
    out = []
    for i, spec in enumerate(device_specs(sc)):
        mutant = None if spec.client in ("planado", "playmaker") else spec.client
        if mutant is None:
            policy = spec.client
        else:
            from reference_client.mutants import get_mutant

            policy = get_mutant(mutant).base
        out.append(DevicePlan(
            id=spec.id, policy=policy, mutant=mutant, push=spec.push,
            behaviour=spec.behaviour, links=link_timeline(spec, sc),
            steps=tuple(s for s in spec.steps if s.kind != "link"), seed=sc.seed * 1000 + i,
            run_seed=sc.seed))
    return out


def check_scale(devices: list[DevicePlan], time_scale: float, where: str,
                base_rtt_ms: dict[str, float] | None = None) -> None:
    """Refuse a K the proxy cannot honour for a profile used before the settle
    window (spec/links.md: "refuse a K it cannot honour"); ``base_rtt_ms``:
    per profile, the path's own round trip (``check_time_scale``)."""
    used = sorted({p for d in devices for _, p in d.links})
    comp = base_rtt_ms or {}
    for name in used:
        try:
            check_time_scale(name, time_scale, base_rtt_ms=comp.get(name, 0.0))
        except TimeScaleError as exc:
            allowed = min(max_time_scale(p) for p in used)
            raise RealRunError(f"{where}: {exc}; this scenario's profiles ({', '.join(used)}) "
                               f"allow at most --time-scale {allowed:g}") from None
