"""How far the simulator is from the real thing: one scenario, both modes.

Theory of operation: the simulator is only as credible as its agreement with
real clients on real (shaped) links. :func:`compare_modes` takes the
result (:class:`~bench.rules.expect.ItemResult`) of one scenario run in sim mode and in real
mode and prints the key metrics side by side -- syncs per device-hour, file
bytes by link class and direction, the median upload delay (edit -> ack) --
with the real/sim ratio of each. The numbers are the trace metrics of
``bench.report.metrics`` (the same a report shows), read from each item's
report folder, else from its ``extra["metrics"]`` when that holds trace
metrics.

Both modes draw one day from the seed (one fleet expansion, one mobility
walk, one person, each device's ``"<seed>/<dev>/<use>"`` streams), so their
*inputs* -- what the phone's OS and the person did: ``link``, ``app``,
``edit``, ``manual`` -- should agree event by event before the settle window.
:func:`first_divergence` walks both traces device by device and names the
first input where they part, with the inputs both had just before it. A
divergence is information, not a failure: the person acts on what the phone
holds, and a job that reached the real phone a sync later is chosen later.

    sim = run_scenario_item(path, out, mode="sim")
    real = run_scenario_item(path, out, mode="real")
    print(compare_modes(sim, real))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

INPUTS = ("link", "app", "edit", "manual")
CONTEXT = 2  # inputs shown before a divergence


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


def _key(e: dict[str, Any]) -> tuple[Any, ...]:
    k = e["ev"]
    if k == "link":
        return ("link", e.get("class"))
    if k == "app":
        return ("app", e.get("state"))
    if k == "edit":
        return ("edit", e.get("record"), e.get("kind"), e.get("status"))
    return ("manual",)


def _show(item: tuple[float, tuple[Any, ...]]) -> str:
    t, key = item
    return f"{' '.join(str(x) for x in key if x is not None)} at t={t:.1f}"


def device_inputs(trace: Path, until: float) -> dict[str, list[tuple[float, tuple[Any, ...]]]]:
    """Each device's inputs before spec time ``until``, in trace order (a link
    event repeating the class before it is not an input: the OS saw no change)."""
    out: dict[str, list[tuple[float, tuple[Any, ...]]]] = {}
    last_link: dict[str, Any] = {}
    with open(trace, "rb") as f:
        for raw in f:
            try:
                e = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if e.get("ev") not in INPUTS or "dev" not in e or not e.get("t", 0) < until:
                continue
            key = _key(e)
            if key[0] == "link":
                if last_link.get(e["dev"]) == key:
                    continue
                last_link[e["dev"]] = key
            out.setdefault(e["dev"], []).append((e["t"], key))
    return out


def first_divergence(sim_trace: Path, real_trace: Path, until: float) -> str:
    """One line: where the two runs' inputs first part, or that they agree."""
    sim, real = device_inputs(sim_trace, until), device_inputs(real_trace, until)
    n = 0
    for dev in sorted(set(sim) | set(real)):
        a, b = sim.get(dev, []), real.get(dev, [])
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else None
            y = b[i] if i < len(b) else None
            if x is not None and y is not None and x[1] == y[1]:
                n += 1
                continue
            before = "; ".join(_show(e) for e in a[max(0, i - CONTEXT):i]) or "nothing"
            return (f"first divergence: {dev}, input {i + 1}: sim {_show(x) if x else 'nothing more'}"
                    f" | real {_show(y) if y else 'nothing more'} (both had before it: {before})")
    return f"inputs agree event by event: {n} inputs on {len(set(sim) | set(real))} devices"


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
    hours = ((sim_item.extra or {}).get("metrics") or {}).get("hours")
    traces = [i.report_dir / "trace.jsonl" if i.report_dir else None for i in (sim_item, real_item)]
    if hours and all(t is not None and t.exists() for t in traces):
        lines.append("  " + first_divergence(traces[0], traces[1], hours * 3600.0))
    return "\n".join(lines)
