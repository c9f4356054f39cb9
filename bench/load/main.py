"""One load run end to end: server, fleet, Locust, gates, report.

Theory of operation::

    LoadConfig ─> setup.target (server + provisioning, no Locust yet)
               ─> runner.run_locust (imports Locust: gevent patches this process)
               ─> gates.check ─> report.write_report ─> LoadResult (exit code, reason)

Locust is imported only inside :func:`run_load`, after the server subprocess
is up, so a caller that only builds configs or reads reports stays unpatched.
The generator-saturation warning goes to stderr and into ``load.json``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.load import gates as gates_mod
from bench.load.config import LoadConfig
from bench.load.profiles import get_profile
from bench.load.series import build

EXIT_OK, EXIT_FAIL = 0, 1
SATURATED_WARNING = ("warning: the load generator was saturated (CPU {pct:.0f}% >= {thr:.0f}%): "
                     "the figures describe the generator, not the server; add --workers")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadResult:
    exit_code: int
    reason: str | None
    data: dict[str, Any]
    out: Path | None


def run_load(cfg: LoadConfig, *, gates: gates_mod.Gates | None = None, out: Path | None = None,
             admin_token: str | None = None, report: bool = True,
             stderr: Any = None) -> LoadResult:
    """Run one load test; write the report under ``out`` when ``report``."""
    from bench.load.setup import target

    stderr = stderr or sys.stderr
    gates = gates or gates_mod.Gates()
    with target(cfg, admin_token=admin_token) as ready:
        from bench.load.runner import run_locust

        run = run_locust(ready, out=out if report else None)
    s = run.summary
    held = s.get("push_sockets_max")
    results = gates_mod.check(gates, p99_ms=s["p99_ms"], fail_ratio=s["fail_ratio"],
                              rps=s["rps"], sockets=None if held is None else held / cfg.devices)
    reason = gates_mod.reason(results)
    warnings = []
    if run.cpu["saturated"]:
        warnings.append(SATURATED_WARNING.format(pct=run.cpu["peak_pct"],
                                                 thr=run.cpu["threshold_pct"]))
        print(warnings[-1], file=stderr)
    marks = dict(get_profile(cfg.profile).moments(cfg.duration_s))
    for m in run.marks:
        marks[m["name"]] = round(m["t"] - run.epoch, 3)
    conf = cfg.to_dict()
    conf.pop("tokens")
    conf.pop("dispatcher_token")
    conf["host"] = ready.host
    conf["epoch"] = run.epoch
    data = {"config": conf, "summary": s, "gates": [r.to_dict() for r in results],
            "gate_reason": reason, "ok": reason is None, "cpu": run.cpu,
            "warnings": warnings, "marks": marks, "requests": run.entries,
            "series": build(run.snapshots),
            # At time scale K a device makes the requests of K devices at the real cadence.
            "devices_at_cadence": cfg.devices * cfg.time_scale}
    if report and out is not None:
        data["files"] = sorted(p.name for p in out.iterdir() if p.is_file()) + ["load.json"]
        from bench.load.report import write_report

        write_report(out, data)
    return LoadResult(exit_code=EXIT_OK if reason is None else EXIT_FAIL, reason=reason,
                      data=data, out=out)
