"""Scenario items of a suite: run a scenario file in simulation or for real.

The one place where ``syncbench run`` and the pytest plugin turn a scenario
file into an :class:`~bench.suite.ItemResult`, whatever the mode.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bench.suite.items import ItemResult, SuiteError


def run_scenario_item(path: Path, out_root: Path | None, *, mode: str = "sim",
                      time_scale: float | str | None = None, seed: int | None = None,
                      target_server: str | None = None, target_token: str | None = None,
                      capture: bool = False) -> ItemResult:
    from bench.scenario import ScenarioError, load_scenario

    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        raise SuiteError(str(exc)) from None
    if seed is not None:
        scenario = scenario.with_overrides(seed=seed)
    if mode == "sim":
        return _simulate(path, scenario, out_root)
    if mode == "real":
        return _real(path, scenario, out_root, time_scale, target_server, target_token, capture)
    raise SuiteError(f"{path}: unknown mode {mode!r} (sim or real)")


def _simulate(path: Path, scenario, out_root: Path | None) -> ItemResult:
    from bench.sim import simulate
    from bench.sim.outputs import write_outputs

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = out_root / f"{scenario.name}-sim" if out_root is not None else None
        trace = (out_dir or Path(tmp)) / "trace.jsonl"
        trace.parent.mkdir(parents=True, exist_ok=True)
        result = simulate(scenario, trace=trace)
        if out_dir is not None:
            write_outputs(out_dir, result, trace_path=trace)
    return ItemResult(name=path.name, kind="sim", policy=scenario.policy, results=tuple(result.results),
                      expect=dict(scenario.expect), unmet=tuple(result.problems), report_dir=out_dir,
                      seconds=time.perf_counter() - started, extra={"metrics": result.metrics})


def _real(path: Path, scenario, out_root: Path | None, time_scale: float | str | None,
          target_server: str | None, target_token: str | None,
          capture: bool = False) -> ItemResult:
    try:
        from bench.real import RealRunError, run_real_item
    except ImportError:
        raise SuiteError(f"{path}: real mode is not available in this build") from None
    target = {"target_server": target_server, "target_token": target_token} if target_server else {}
    try:
        return run_real_item(path, scenario, out_root, time_scale=time_scale, capture=capture,
                             **target)
    except RealRunError as exc:
        raise SuiteError(str(exc)) from None
