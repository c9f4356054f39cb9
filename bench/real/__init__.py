"""The real-run bench: a scenario played with real processes on loopback.

``syncbench run --mode real`` reaches :func:`run_real_item`: the reference
server (or a team's own), one shaped link per device through the link proxy,
real reference clients, the scenario's people, links and dispatcher at time
scale K, then the rules and the report. See docs/real.md.

Modules: ``plan`` (devices, link timelines, refusing K), ``people`` (a
person acting by a preset, asyncio), ``devices`` (a group of clients in one
loop), ``procs`` (worker processes), ``web`` (the dispatcher), ``merge`` (one
trace), ``drift`` (did the machine keep up), ``run`` (the whole item),
``compare`` (sim vs real), ``selftest`` (every client mutant caught for real).
"""

from importlib import import_module
from typing import Any

_WHERE = {"run_real_item": "run", "preflight": "run", "RealRunError": "plan", "DEFAULT_TIME_SCALE": "plan",
          "compare_modes": "compare", "run_real_selftest": "selftest"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
