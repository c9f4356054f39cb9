"""The report directory of a simulation run.

Theory of operation: ``bench.report.write_report`` writes the whole report
(verdicts, JUnit, metrics and plots). When it is not importable this module
writes the parts it can itself -- ``verdicts.json``, ``junit.xml``,
``metrics.json`` -- and skips the plots. The switch is :func:`write_outputs`,
the one place that knows which of the two happened.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from bench.rules.junit import junit_xml
from bench.rules.render import as_json
from bench.sim.fleet import SimResult


def _report_writer() -> Any:
    try:
        from bench.report import write_report
    except ImportError:
        return None
    return write_report


def write_outputs(out_dir: str | Path, result: SimResult, *, trace_path: str | Path,
                  plots: bool = True) -> str:
    """Write the report directory; returns ``"report"`` or ``"fallback"`` (no plots).

    ``plots=False`` skips ``bench.report`` (and its plots) on purpose.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sc = result.scenario
    extra = {"mode": "sim", "wall_s": result.metrics.get("wall_s"), "sim": result.metrics,
             "expect": dict(sc.expect), "problems": result.problems, "scenario_file": sc.source}
    write_report = _report_writer() if plots else None
    if write_report is not None:
        from bench.rules import get_policy

        write_report(out, trace_path=Path(trace_path), policy=get_policy(sc.policy),
                     results=result.results, scenario=asdict(sc), seed=sc.seed,
                     series=result.series, extra=extra)
        if not (out / "metrics.json").exists():
            (out / "metrics.json").write_bytes(orjson.dumps(extra, option=orjson.OPT_INDENT_2))
        return "report"
    verdicts = as_json(sc.policy, result.results)
    verdicts.update({"scenario": sc.name, "seed": sc.seed, "problems": result.problems})
    (out / "verdicts.json").write_bytes(orjson.dumps(verdicts, option=orjson.OPT_INDENT_2))
    (out / "junit.xml").write_bytes(junit_xml(result.results, suite=f"syncbench.sim.{sc.name}",
                                              time_s=result.metrics.get("wall_s", 0.0)))
    metrics = dict(extra, series=result.series)
    (out / "metrics.json").write_bytes(orjson.dumps(metrics, option=orjson.OPT_INDENT_2))
    return "fallback"
