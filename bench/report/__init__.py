"""The report layer: what a run leaves behind for people and for CI.

Theory of operation: a run ends in :func:`write_report`, which turns the trace
and the rule verdicts into one directory::

    out_dir/
      index.html      the page a person reads (verdict, failures first, plots)
      verdicts.json   the ``check --json`` object plus seed, scenario and counts
      junit.xml       one testcase per rule, for CI
      metrics.json    sync intervals, staleness, upload and push delay, bytes...
      run.json        scenario, seed, series and run facts (for rebuilding)
      trace.jsonl     the trace itself
      plots/*.png

``syncbench report DIR`` rebuilds it from ``DIR/trace.jsonl``;
``syncbench compare A B`` tells what changed between two such directories.
Reports read traces and verdicts only: nothing here imports the simulator or
the real-run bench (STYLE.md: "trace -> rules -> (sim | link | real | load) ->
report -> cli").
"""

from __future__ import annotations

from bench.report.metrics import KEY_METRICS, MetricsBuilder, trace_metrics
from bench.report.write import write_report

__all__ = ["KEY_METRICS", "MetricsBuilder", "trace_metrics", "write_report"]
