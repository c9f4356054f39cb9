"""``simulate``: one entry point for a whole fleet, in one process or in shards."""

from __future__ import annotations

from typing import Any

from bench.scenario.model import Scenario
from bench.sim.fleet import Fleet, SimResult
from bench.sim.shards import ShardedRun, simulate_sharded
from bench.trace import TraceWriter


def simulate(scenario: Scenario, *, trace: Any = None, progress: Any = None,
             shards: ShardedRun | None = None) -> SimResult:
    """Run ``scenario`` with every rule online; ``trace``: a path or binary stream.

    ``shards``: a :class:`bench.sim.shards.ShardedRun` splits the fleet into
    shards run in parallel (``trace`` must then be a path, or None).
    """
    if shards is not None:
        return simulate_sharded(scenario, shards, trace=trace, progress=progress)
    if trace is None:
        return Fleet(scenario).run(progress)
    with TraceWriter(trace) as w:
        return Fleet(scenario, writer=w).run(progress)
