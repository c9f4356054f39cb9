"""The reference device: a sans-I/O sync engine and its two policies.

    from reference_client import Engine, PLANADO, LinkChanged, AppChanged
    eng = Engine(device="w1", policy=PLANADO, rng=random.Random(7), start=0.0)
    actions = eng.handle(LinkChanged(now=0.0, link_class="wifi"))

See docs/engine.md. ``reference_client.mutants`` holds deliberately broken
policies (the deterministic harness that drives the engine in tests is
``bench.testing.harness``). This package never imports ``bench``.
"""

from reference_client.engine import *  # noqa: F403
from reference_client.engine import __all__ as _engine_all
from reference_client.policies import PLANADO, PLAYMAKER, POLICIES, Policy, get_policy

__all__ = [*_engine_all, "PLANADO", "PLAYMAKER", "POLICIES", "Policy", "get_policy"]
