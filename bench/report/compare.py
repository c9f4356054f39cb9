"""What changed between two report directories (``syncbench compare A B``).

Theory of operation
-------------------
A comparison reads only ``verdicts.json`` and ``metrics.json`` of each run
(``A`` is the baseline, ``B`` the candidate), so it is instant whatever the
traces' size. It lists:

* rules whose verdict changed. A rule that goes from ``pass`` or ``n/a`` (or
  was absent) to ``fail`` is a *regression* ("pass->fail is a regression");
  ``fail`` to anything else is *fixed*;
* violation counts per rule;
* the key metrics (:data:`~bench.report.metrics.KEY_METRICS`) with their
  relative change. A metric where larger is worse regresses when it grows by
  more than ``tolerance`` of its baseline *and* by more than its noise floor
  (so 0.1 s -> 0.2 s of upload delay is not a "+100 %" release blocker).

The result is a plain dict (the ``--json`` output); :func:`as_text` renders it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import orjson

from bench.report.keys import KEY_METRICS
from bench.report.write import METRICS_NAME, VERDICTS_NAME

COMPARE_SCHEMA = "syncbench.compare/1"
# "--metric-tolerance 0.2": a metric 20 % worse than the baseline regresses.
DEFAULT_TOLERANCE = 0.2
# Absolute noise floors, below which a change never regresses. Seconds: 1 s is
# rules.md's smallest timing parameter (display_lag_s = 1). The failed sync
# ratio: one percentage point. Anything else is a count: one item.
NOISE_FLOOR_S = 1.0
NOISE_FLOOR_BY_KEY = {"failed_sync_ratio": 0.01}
NOISE_FLOOR_COUNT = 1.0
_VERDICTS = ("pass", "fail", "n/a")


class CompareError(ValueError):
    """A run directory that cannot be compared; one line naming the file."""


def _load(path: Path) -> dict[str, Any]:
    try:
        obj = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise CompareError(f"{path}: missing (not a report directory? run `syncbench report` on it)") from None
    except OSError as exc:
        raise CompareError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except orjson.JSONDecodeError as exc:
        raise CompareError(f"{path}: not JSON ({str(exc).split(':')[0]})") from None
    if type(obj) is not dict:
        raise CompareError(f"{path}: must hold a JSON object")
    return obj


def load_run(run_dir: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(verdicts, metrics) of a report directory, validated enough to compare."""
    d = Path(run_dir)
    if not d.is_dir():
        raise CompareError(f"{d}: not a directory")
    verdicts = _load(d / VERDICTS_NAME)
    rules = verdicts.get("rules")
    if type(rules) is not list or not all(
            type(r) is dict and type(r.get("id")) is str and r.get("verdict") in _VERDICTS
            and type(r.get("violations", [])) is list for r in rules):
        raise CompareError(f"{d / VERDICTS_NAME}: 'rules' must be a list of {{id, verdict, violations}}")
    metrics = _load(d / METRICS_NAME)
    if type(metrics.get("key")) is not dict:
        raise CompareError(f"{d / METRICS_NAME}: no 'key' metrics object")
    return verdicts, metrics


def _rule_change(a: str | None, b: str | None) -> str:
    if a == b:
        return "same"
    if b == "fail":
        return "regression"
    if a == "fail":
        return "fixed"
    return "changed"


def _num(v: Any) -> float | None:
    return float(v) if type(v) in (int, float) and math.isfinite(v) else None


def compare_runs(a_dir: str | Path, b_dir: str | Path, *, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """Compare run ``b_dir`` against baseline ``a_dir`` (see module docs)."""
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise CompareError(f"metric tolerance must be a finite number >= 0, got {tolerance!r}")
    va, ma = load_run(a_dir)
    vb, mb = load_run(b_dir)
    ra = {r["id"]: r for r in va["rules"]}
    rb = {r["id"]: r for r in vb["rules"]}
    rules = []
    for rid in sorted(set(ra) | set(rb)):
        a, b = ra.get(rid), rb.get(rid)
        av, bv = (a or {}).get("verdict"), (b or {}).get("verdict")
        rules.append({"id": rid, "a": av, "b": bv,
                      "a_violations": len((a or {}).get("violations", [])),
                      "b_violations": len((b or {}).get("violations", [])),
                      "change": _rule_change(av, bv)})
    metrics = []
    for key, label, unit, worse in KEY_METRICS:
        a, b = _num(ma["key"].get(key)), _num(mb["key"].get(key))
        delta = None if a is None or b is None else b - a
        rel = None
        if delta is not None:
            rel = (delta / abs(a)) if a != 0 else (0.0 if delta == 0 else math.copysign(math.inf, delta))
        floor = NOISE_FLOOR_BY_KEY.get(key, NOISE_FLOOR_S if unit == "s" else NOISE_FLOOR_COUNT)
        regressed = bool(worse == "up" and delta is not None and delta > floor and delta > tolerance * abs(a))
        metrics.append({"key": key, "label": label, "unit": unit, "a": a, "b": b, "delta": delta,
                        "rel": None if rel is None or math.isinf(rel) else round(rel, 6),
                        "rel_inf": rel is not None and math.isinf(rel), "gated": worse == "up",
                        "regression": regressed})
    regressions = [f"rule {r['id']}: {r['a'] or 'absent'} -> fail" for r in rules if r["change"] == "regression"]
    regressions += [f"metric {m['key']}: {_show(m['a'], m['unit'])} -> {_show(m['b'], m['unit'])} "
                    f"({_pct(m)})" for m in metrics if m["regression"]]
    return {"schema": COMPARE_SCHEMA, "a": str(a_dir), "b": str(b_dir), "tolerance": tolerance,
            "verdict": {"a": va.get("verdict"), "b": vb.get("verdict")},
            "rules": rules, "metrics": metrics, "regressions": regressions, "regression": bool(regressions)}


def _show(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    text = f"{v:,.0f}" if unit == "B" else f"{v:.4g}"
    return f"{text} {unit}".rstrip() if unit in ("s", "B") else text


def _pct(m: dict[str, Any]) -> str:
    if m["rel_inf"]:
        return "new, was 0"
    if m["rel"] is None:
        return "n/a"
    return f"{m['rel'] * 100:+.0f}%"


def as_text(cmp: dict[str, Any]) -> str:
    """The comparison for a terminal: changed rules first, then every key metric."""
    va, vb = cmp["verdict"]["a"], cmp["verdict"]["b"]
    lines = [f"compare {cmp['a']} -> {cmp['b']}",
             f"overall: {(va or '?').upper()} -> {(vb or '?').upper()}"]
    changed = [r for r in cmp["rules"] if r["change"] != "same" or r["a_violations"] != r["b_violations"]]
    order = {"regression": 0, "changed": 1, "same": 2, "fixed": 3}
    lines.append("rules:" if changed else "rules: no verdict or violation count changed")
    width = max((len(r["id"]) for r in changed), default=0)
    for r in sorted(changed, key=lambda r: (order[r["change"]], r["id"])):
        tag = {"regression": "REGRESSION", "fixed": "fixed", "changed": "changed", "same": ""}[r["change"]]
        lines.append(f"  {tag:<10}  {r['id']:<{width}}  {r['a'] or 'absent'} -> {r['b'] or 'absent'}"
                     f"  ({r['a_violations']} -> {r['b_violations']} violations)")
    lines.append("metrics:")
    width = max(len(m["label"]) for m in cmp["metrics"])
    for m in cmp["metrics"]:
        flag = "  WORSE" if m["regression"] else ""
        lines.append(f"  {m['label']:<{width}}  {_show(m['a'], m['unit']):>12} -> {_show(m['b'], m['unit']):<12}"
                     f"  {_pct(m):>10}{flag}")
    n = len(cmp["regressions"])
    lines.append(f"result: {n} regression(s)" + (": " + "; ".join(cmp["regressions"]) if n else ""))
    return "\n".join(lines)
