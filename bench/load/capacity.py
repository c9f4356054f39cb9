"""Capacity search: the largest fleet that holds the gates at the policy's cadence.

Theory of operation: each step is a short load run (a fresh server when the
bench starts its own, so every step begins from the same empty database) at
a fleet size ``n``; the step *holds* when every gate holds (``--p99-ms``
above all) and the generator was not saturated (else its figures describe the
generator, not the server). :func:`search` doubles ``n`` from the start size
until a step breaks, then bisects between the last size that held and the
first that broke until they are within :data:`RESOLUTION` of each other (a
step that breaks is run once more, :data:`CONFIRM_BREAKS`, so one noisy step
on a shared machine does not end the search)::

    n: 50 ─held─> 100 ─held─> 200 ─broke─> 150 ─held─> 175 ─broke─> 162 ... => best held

The answer is in devices at the run's time scale and, since at time scale K a
device makes the requests of K devices at the real cadence, ``n * K`` devices
at the policy's cadence (the 2-minute Planado timer), and as requests/s.
:func:`search` takes the step as a callable, so its logic is tested without
running Locust.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bench.load.config import LoadConfig
from bench.load.gates import Gates

# Stop bisecting when the bracket is within 10 % of the fleet that held: finer
# than run-to-run noise of a short step on a shared machine is not meaningful.
RESOLUTION = 0.1
# Search ceiling in devices (at the run's time scale) unless --max-devices.
MAX_DEVICES = 20_000
# Wall seconds of one step: at --time-scale 10 the 2-minute cadence takes 12 s,
# so a step covers more than one full period after the spawn.
DEFAULT_STEP_S = 20.0
# Spawning may take at most this share of a step, so most of it runs at full size.
SPAWN_SHARE = 0.25
# At most this many steps (doubling from 1 to 20,000 is 15, bisecting ~5 more,
# and a confirmation run for each break).
MAX_STEPS = 40
# A step that breaks is run again once and counts as broken only if it breaks
# again: on a shared machine one noisy step must not end the search early.
CONFIRM_BREAKS = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    devices: int
    held: bool
    p99_ms: float
    fail_ratio: float
    rps: float
    saturated: bool = False
    reason: str | None = None


@dataclass(slots=True, kw_only=True)
class Capacity:
    devices: int  # largest fleet that held (0: even the smallest broke)
    rps: float
    time_scale: float
    p99_gate_ms: float
    steps: list[Step] = field(default_factory=list)
    limited_by: str = "server"  # or "generator" (saturated before the gate broke), "ceiling"

    @property
    def devices_at_cadence(self) -> float:
        return self.devices * self.time_scale

    def to_dict(self) -> dict[str, Any]:
        return {"devices": self.devices, "devices_at_cadence": self.devices_at_cadence,
                "rps": self.rps, "time_scale": self.time_scale, "p99_gate_ms": self.p99_gate_ms,
                "limited_by": self.limited_by, "steps": [asdict(s) for s in self.steps]}

    def line(self) -> str:
        return (f"capacity: {self.devices} devices at time scale {self.time_scale:g} "
                f"(= {self.devices_at_cadence:g} devices at the policy's cadence), "
                f"{self.rps:.1f} requests/s with p99 <= {self.p99_gate_ms:g} ms; "
                f"limited by the {self.limited_by}; {len(self.steps)} steps")


def search(trial: Callable[[int], Step], *, start: int, max_devices: int,
           resolution: float = RESOLUTION, max_steps: int = MAX_STEPS,
           confirm: int = CONFIRM_BREAKS) -> tuple[Step | None, list[Step], str]:
    """Double then bisect; ``(best step that held, all steps, limited_by)``."""
    steps: list[Step] = []

    def confirmed(n: int) -> Step:
        s = trial(n)
        for _ in range(confirm):
            if s.held or len(steps) + 1 >= max_steps:
                break
            steps.append(s)
            s = trial(n)
        return s

    good: Step | None = None
    bad: Step | None = None
    n = max(1, min(start, max_devices))
    while len(steps) < max_steps:
        s = confirmed(n)
        steps.append(s)
        if not s.held:
            bad = s
            break
        good = s
        if n >= max_devices:
            return good, steps, "ceiling"
        n = min(n * 2, max_devices)
    while bad is not None and len(steps) < max_steps:
        lo = good.devices if good else 0
        if bad.devices - lo <= max(1, int(lo * resolution)):
            break
        s = confirmed((lo + bad.devices) // 2)
        steps.append(s)
        if s.held:
            good = s
        else:
            bad = s
    limited = "generator" if bad is not None and bad.saturated and not bad.reason else "server"
    return good, steps, limited


def find_capacity(cfg: LoadConfig, *, gates: Gates, admin_token: str | None, out: Path | None,
                  max_devices: int = MAX_DEVICES, step_s: float = DEFAULT_STEP_S,
                  log: TextIO | None = None) -> Capacity:
    """Run :func:`search` with real load steps; write ``capacity.json`` under ``out``."""
    from bench.load.main import run_load

    def trial(n: int) -> Step:
        spawn = max(cfg.spawn_rate, n / (step_s * SPAWN_SHARE))
        res = run_load(cfg.replace(devices=n, duration_s=step_s, spawn_rate=spawn), gates=gates,
                       admin_token=admin_token, report=False, stderr=log)
        s, cpu = res.data["summary"], res.data["cpu"]
        step = Step(devices=n, held=res.reason is None and not cpu["saturated"],
                    p99_ms=s["p99_ms"], fail_ratio=s["fail_ratio"], rps=s["rps"],
                    saturated=cpu["saturated"], reason=res.reason)
        if log is not None:
            print(f"capacity step: {n} devices: p99 {step.p99_ms:.0f} ms, {step.rps:.1f} req/s, "
                  f"failures {step.fail_ratio:.2%}, generator CPU {cpu['peak_pct']:.0f}%: "
                  f"{'held' if step.held else 'broke'}", file=log, flush=True)
        return step

    best, steps, limited = search(trial, start=cfg.devices, max_devices=max_devices)
    cap = Capacity(devices=best.devices if best else 0, rps=best.rps if best else 0.0,
                   time_scale=cfg.time_scale, p99_gate_ms=gates.p99_ms or 0.0, steps=steps,
                   limited_by=limited)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        conf = cfg.to_dict()
        conf.pop("tokens")
        conf.pop("dispatcher_token")
        (out / "capacity.json").write_text(
            json.dumps({"config": conf, **cap.to_dict()}, indent=2) + "\n", encoding="utf-8")
    return cap
