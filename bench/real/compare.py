"""How far the simulator is from the real thing: one scenario, both modes.

Theory of operation: the simulator is only as credible as its agreement with
real clients on real (shaped) links. :func:`compare_modes` takes the
:class:`~bench.suite.ItemResult` of one scenario run in sim mode and in real
mode and prints the key metrics side by side -- syncs per device-hour, file
bytes by link class and direction, the median upload delay (edit -> ack) --
with the real/sim ratio of each. The numbers are the trace metrics of
``bench.report.metrics`` (the same a report shows), read from each item's
report folder, else from its ``extra["metrics"]`` when that holds trace
metrics. The two modes agree in distribution, not event by event (the real
planner draws its own samples: bench.real.plan, bench.real.people), so expect
the ratios near 1 for a long or large run, not equal to it.

    sim = run_scenario_item(path, out, mode="sim")
    real = run_scenario_item(path, out, mode="real")
    print(compare_modes(sim, real))
"""

from __future__ import annotations

from typing import Any


def item_metrics(item: Any) -> dict[str, Any] | None:
    """The trace metrics of a suite item (its report's trace, else ``extra``)."""
    if item.report_dir is not None and (item.report_dir / "trace.jsonl").exists():
        from bench.report.metrics import trace_metrics

        return trace_metrics(item.report_dir / "trace.jsonl")
    m = (item.extra or {}).get("metrics")
    return m if isinstance(m, dict) and "sync" in m else None


def rows(sim: dict[str, Any], real: dict[str, Any]) -> list[tuple[str, float | None, float | None]]:
    """(label, sim value, real value) for every compared metric."""
    out: list[tuple[str, float | None, float | None]] = [
        ("syncs per device-hour", sim["sync"]["per_device_hour"], real["sync"]["per_device_hour"]),
        ("upload delay median (s)", sim["upload_delay_s"]["p50"], real["upload_delay_s"]["p50"]),
    ]
    classes = sorted(set(sim["bytes"]["by_class"]) | set(real["bytes"]["by_class"]))
    for cls in classes:
        for direction in ("up", "down"):
            a = sim["bytes"]["by_class"].get(cls, {}).get(direction, 0)
            b = real["bytes"]["by_class"].get(cls, {}).get(direction, 0)
            if a or b:
                out.append((f"file bytes {direction} on {cls}", a, b))
    return out


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def compare_modes(sim_item: Any, real_item: Any) -> str:
    """A table comparing the key metrics of one scenario's sim and real runs."""
    sim, real = item_metrics(sim_item), item_metrics(real_item)
    head = f"{sim_item.name}: simulation vs real run"
    if real_item.extra.get("time_scale"):
        head += f" (K={real_item.extra['time_scale']:g})"
    if sim is None or real is None:
        missing = " and ".join(n for n, m in (("sim", sim), ("real", real)) if m is None)
        return f"{head}\n  no trace metrics for the {missing} run (run it with a report folder)"
    table = rows(sim, real)
    w = max(len(r[0]) for r in table)
    lines = [head, f"  {'metric':<{w}}  {'sim':>12}  {'real':>12}  real/sim"]
    for label, a, b in table:
        ratio = f"{b / a:.2f}" if a and b is not None else "—"
        lines.append(f"  {label:<{w}}  {_fmt(a):>12}  {_fmt(b):>12}  {ratio:>8}")
    return "\n".join(lines)
