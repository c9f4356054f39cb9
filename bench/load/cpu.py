"""Is the load generator itself the bottleneck? Its CPU, judged.

Theory of operation: the runner samples each generator process's CPU percent
once a second with psutil (this process and every worker). When the busiest
process averages :data:`CPU_SATURATED_PCT` or more over :data:`CPU_WINDOW`
consecutive samples, the run's figures describe the generator rather than the
server, and the run says so (stderr and ``load.json``).
"""

from __future__ import annotations

from typing import Any

# Generator CPU percent above which its figures describe the generator rather
# than the server: Locust's own CPU_WARNING_THRESHOLD (90).
CPU_SATURATED_PCT = 90.0
# Samples averaged before comparing with the threshold, so one busy second
# (the spawn, a burst) does not count as saturation.
CPU_WINDOW = 5


def cpu_summary(per_proc: list[list[float]], cpu_s: float, n: int) -> dict[str, Any]:
    """Figures for ``load.json``: generator CPU seconds, the busiest process's peak
    :data:`CPU_WINDOW`-sample mean, and whether that reached the threshold."""
    worst = 0.0
    for series in per_proc:
        for i in range(max(1, len(series) - CPU_WINDOW + 1)):
            win = series[i:i + CPU_WINDOW]
            if win:
                worst = max(worst, sum(win) / len(win))
    return {"processes": n, "cpu_s": round(cpu_s, 3), "peak_pct": round(worst, 1),
            "saturated": worst >= CPU_SATURATED_PCT, "threshold_pct": CPU_SATURATED_PCT}
