"""Suites: the items a run checks (scenario files, trace files) and their one result shape.

``items`` holds the result type, the trace items and the one report writer;
``scenarios`` runs a scenario file in simulation or for real. ``syncbench
run`` and the pytest plugin both come through here.
"""

from bench.suite.items import (
    ItemResult,
    SuiteError,
    check_trace_file,
    collect,
    run_trace_item,
    summary_table,
    unmet_expectations,
    validate_expect,
    write_item_report,
)
from bench.suite.scenarios import run_scenario_item

__all__ = ["ItemResult", "SuiteError", "check_trace_file", "collect", "run_scenario_item",
           "run_trace_item", "summary_table", "unmet_expectations", "validate_expect",
           "write_item_report"]
