"""The fleet simulator: many devices, one server model, every rule online.

    from bench.scenario import load_scenario
    from bench.sim import simulate
    result = simulate(load_scenario("scenarios/planado-day.yaml"), trace="run.jsonl")
    result.results   # list of bench.rules.RuleResult, one per rule of the policy
    result.problems  # unmet `expect:` entries (empty: the scenario met them)

Modules: ``fleet`` (the run), ``device`` (the engine driver), ``server``
(the server model), ``queue`` (its service queue), ``push`` (the push service),
``mutants`` (server-side mutants), ``mobility`` and ``people`` (who does what
when), ``links`` (link profiles and transfer times), ``partition`` and
``shards`` (a fleet split over processes or a Dask cluster), ``api``
(``simulate``). See docs/simulation.md.
"""

from bench.scenario.mutants import SERVER_MUTANTS, TRUE_SERVER, ServerMutant, get_server_mutant
from bench.sim.api import simulate
from bench.sim.fleet import Fleet, SimResult, expect_problems, trace_meta

__all__ = ["SERVER_MUTANTS", "TRUE_SERVER", "Fleet", "ServerMutant", "SimResult",
           "expect_problems", "get_server_mutant", "simulate", "trace_meta"]
