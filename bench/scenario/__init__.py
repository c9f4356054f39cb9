"""Scenario files: one format for simulated fleets now and real runs later.

    from bench.scenario import load_scenario, ScenarioError
    sc = load_scenario("scenarios/planado-day.yaml")   # a frozen Scenario
    sc = sc.with_overrides(devices=10, hours=1, seed=3)

See docs/scenarios.md for the format; ``model`` holds the dataclasses,
``parse`` the reader, ``load`` the validation helpers.
"""

from bench.scenario.load import ScenarioError
from bench.scenario.model import (
    DeviceSpec,
    DispatcherSpec,
    DispatchStep,
    Dist,
    FleetSpec,
    PushSpec,
    Scenario,
    ServerSpec,
    Step,
)
from bench.scenario.parse import load_scenario, parse_scenario

__all__ = ["DeviceSpec", "DispatchStep", "DispatcherSpec", "Dist", "FleetSpec", "PushSpec",
           "Scenario", "ScenarioError", "ServerSpec", "Step", "load_scenario", "parse_scenario"]
