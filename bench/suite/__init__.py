"""Suites: the items a run checks (scenario files, trace files) and their one result shape.

``items`` holds the result type, the trace items and the one report writer;
``scenarios`` runs a scenario file in simulation or for real; ``lanes`` runs
a suite's items side by side. ``syncbench run`` and the pytest plugin both
come through here. Names load on first use (the CLI reads ``lanes``' limits
when it builds its parser, without the rules behind ``items``).
"""

from importlib import import_module
from typing import Any

_WHERE = {"ItemResult": "items", "SuiteError": "items", "check_trace_file": "items",
          "collect": "items", "run_trace_item": "items", "summary_table": "items",
          "unmet_expectations": "items", "validate_expect": "items",
          "write_item_report": "items", "run_scenario_item": "scenarios"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
