"""``write_report``: the one entry point every run uses to leave its report.

Theory of operation
-------------------
::

    trace_path --copy--> out/trace.jsonl --+--> metrics pass    --> metrics.json --> plots/*.png
                                           +--> context pass    (lines around violations)
    results ----------------------------------> verdicts.json, junit.xml
    scenario, seed, series, extra ------------> run.json (so `syncbench report DIR` can rebuild)
    all of the above -------------------------> index.html

The trace is read twice, streaming (metrics, then context for at most
``MAX_VIOLATIONS_PER_RULE`` violations per rule), so memory stays bounded by
devices and open items. Every file is a function of its inputs only (no
clock, no host name, sorted where order is free), so rebuilding a report
from the same trace gives the same bytes.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench.report.context import MAX_VIOLATIONS_PER_RULE, gather_context
from bench.report.html import overall, render_html
from bench.report.metrics import trace_metrics
from bench.report.plots import write_plots
from bench.rules.base import FAIL, NA, PASS, RuleResult
from bench.rules.junit import junit_xml
from bench.rules.render import as_json
from bench.trace import read_meta

TRACE_NAME = "trace.jsonl"
VERDICTS_NAME = "verdicts.json"
JUNIT_NAME = "junit.xml"
METRICS_NAME = "metrics.json"
RUN_NAME = "run.json"
INDEX_NAME = "index.html"
RUN_SCHEMA = "syncbench.run/1"
_JSON_OPTS = orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dump_json(path: Path, obj: Any) -> None:
    # default=str: a scenario or run fact may hold a Path or an enum; the
    # report shows it rather than failing the run that produced it.
    path.write_bytes(orjson.dumps(obj, option=_JSON_OPTS, default=str) + b"\n")


def _place_trace(src: Path, dst: Path) -> Path:
    """Copy the trace into the report directory unless it is already there."""
    if not src.is_file():
        raise FileNotFoundError(f"trace {src} does not exist")
    if dst.exists() and src.resolve() == dst.resolve():
        return dst
    tmp = dst.with_name(dst.name + ".part")
    shutil.copyfile(src, tmp)
    tmp.replace(dst)  # never leave a half-copied trace.jsonl behind
    return dst


def _is_num(v: Any) -> bool:
    return type(v) is not bool and isinstance(v, int | float) and math.isfinite(v)


def check_series(series: Any) -> dict[str, list[list[float]]]:
    """``series`` as ``{name: [[t, value], ...]}``; ValueError naming the bad point otherwise."""
    if series is None:
        return {}
    if not isinstance(series, dict):
        raise ValueError(f"series must be a dict of name -> [(t, value), ...], got {type(series).__name__}")
    out: dict[str, list[list[float]]] = {}
    for name, points in series.items():
        try:
            pts = [list(p) for p in points]
        except TypeError:
            raise ValueError(f"series {name!r}: must be a list of (t, value) pairs") from None
        for i, p in enumerate(pts):
            if len(p) != 2 or not (_is_num(p[0]) and _is_num(p[1])):
                raise ValueError(f"series {name!r}: point {i} must be a (t, value) pair of finite numbers, got {p!r}")
        out[str(name)] = pts
    return out


def _trace_source(src: Path, out: Path) -> str | None:
    """The file name the trace came from; on a rebuild (the trace is already in
    ``out``), the one the first report recorded in run.json."""
    dst = out / TRACE_NAME
    if not (dst.exists() and src.exists() and src.resolve() == dst.resolve()):
        return src.name
    try:
        run = orjson.loads((out / RUN_NAME).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    found = run.get("trace_source") if type(run) is dict else None
    return found if isinstance(found, str) else None


def scenario_name(scenario: Any) -> str | None:
    if isinstance(scenario, dict):
        name = scenario.get("name")
        return None if name is None else str(name)
    name = getattr(scenario, "name", None)
    return None if name is None else str(name)


def verdicts_object(policy: str, results: Sequence[RuleResult], *, seed: Any, scenario: str | None) -> dict[str, Any]:
    """The ``check --json`` object plus ``seed``, ``scenario``, ``counts`` and ``verdict``."""
    obj = as_json(policy, results)
    obj["seed"] = seed
    obj["scenario"] = scenario
    obj["counts"] = {k: sum(r.verdict == k for r in results) for k in (FAIL, PASS, NA)}
    obj["verdict"] = overall(results)
    return obj


def write_report(out_dir, *, trace_path, policy, results, scenario=None, seed=None, series=None,
                 extra=None, metrics=None) -> Path:
    """Write a run's whole report into ``out_dir``; return the path of its ``index.html``.

    ``trace_path``: the run's trace (copied in as ``trace.jsonl`` if elsewhere).
    ``policy``: the policy name (a :class:`~bench.rules.Policy` is accepted too).
    ``results``: the :class:`~bench.rules.RuleResult` list of the check.
    ``scenario``: the scenario as loaded (a dict, shown in the report) or None.
    ``seed``: the run's seed (default: the trace meta's ``seed``).
    ``series``: named time series the trace does not hold, ``{"server_rps": [(t, v), ...]}``.
    ``extra``: run facts (``mode`` sim/real, time scale, wall time, drift...).
    ``metrics``: the trace's metrics when the caller computed them in its own
    pass over the trace (``bench.report.metrics.MetricsBuilder``); else computed here.

    Files written: trace.jsonl, verdicts.json, junit.xml, metrics.json, run.json,
    plots/*.png, index.html. Raises :class:`bench.trace.TraceError` for a
    malformed trace, ``FileNotFoundError`` for a missing one and ``ValueError``
    for a malformed ``series``.
    """
    series = check_series(series)  # before anything is written: a bad call leaves no half report
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    source = _trace_source(Path(trace_path), out)
    trace = _place_trace(Path(trace_path), out / TRACE_NAME)
    meta = read_meta(trace) or {}
    if seed is None:
        seed = meta.get("seed")
    policy_name = str(getattr(policy, "name", policy))
    results = list(results)
    sname = scenario_name(scenario)
    extra = dict(extra or {})

    if metrics is None:
        metrics = trace_metrics(trace)
    dump_json(out / VERDICTS_NAME, verdicts_object(policy_name, results, seed=seed, scenario=sname))
    # One suite per run, named after what ran, so a CI page listing many runs
    # tells them apart; the rules' class is the policy.
    label = sname or (Path(source).stem if source else policy_name)
    wall = extra.get("wall_s")
    (out / JUNIT_NAME).write_bytes(junit_xml(results, suite=f"syncbench.{label}", classname=f"syncbench.{policy_name}",
                                             time_s=float(wall) if _is_num(wall) else 0.0))
    dump_json(out / METRICS_NAME, metrics)
    dump_json(out / RUN_NAME, {"schema": RUN_SCHEMA, "policy": policy_name, "seed": seed, "trace_source": source,
                               "scenario": scenario, "extra": extra, "series": series})
    plots = write_plots(out, metrics, series)
    targets = [(v.t, v.dev) for r in results for v in r.violations[:MAX_VIOLATIONS_PER_RULE]]
    contexts = gather_context(trace, targets)
    page = render_html(results=results, policy=policy_name, scenario_name=sname, scenario=scenario, seed=seed,
                       source=source, extra=extra, metrics=metrics, plots=plots, contexts=contexts)
    index = out / INDEX_NAME
    index.write_text(page, encoding="utf-8")
    return index


def write_check_report(out_dir: Path, trace: Path, policy: str, results: Any,
                       meta: dict[str, Any], **kw: Any) -> Path:
    """The report of one checked run or trace; returns its folder (the seed from ``meta``)."""
    written = Path(write_report(out_dir, trace_path=trace, policy=policy, results=list(results),
                                seed=meta.get("seed"), **kw))
    return written.parent if written.suffix == ".html" else written
