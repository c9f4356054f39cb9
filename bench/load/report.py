"""The load report directory: Locust's CSV and HTML, our plots, ``load.json``, ``index.html``.

Theory of operation: the runner has already written Locust's own files
(``locust_stats.csv``, ``locust_stats_history.csv``, ``locust_failures.csv``,
``locust_exceptions.csv``, ``locust.html``). :func:`write_report` adds, from
the per-second series (:mod:`bench.load.series`):

    series ──> plots/rps.png       requests/s and failures/s over time
           ──> plots/latency.png   p50 / p95 / p99 over time
           ──> plots/users_cpu.png users and generator CPU over time
    figures, gates, marks, cpu ──> load.json
    all of it ──> index.html (links Locust's report, shows the plots)

Every plot marks the profile's moments (a storm's offline and reconnect, a
burst) with vertical lines, so the herd is seen against its cause. Plots use
matplotlib's Agg backend with fixed size and DPI.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

# 10 x 3.6 in at 100 dpi, as the simulator's report plots: 1000 px wide.
FIGSIZE_IN = (10.0, 3.6)
DPI = 100
PLOTS_DIR = "plots"
MARK_COLOURS = {"offline": "grey", "reconnect": "red", "burst": "purple",
                "burst_start": "purple", "burst_end": "violet"}


def write_report(out: Path, data: dict[str, Any]) -> Path:
    """Write ``load.json``, the plots and ``index.html`` under ``out``; return index.html."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")
    plots = _plots(out / PLOTS_DIR, data["series"], data.get("marks", {}))
    index = out / "index.html"
    index.write_text(_index(data, plots), encoding="utf-8")
    return index


def _plots(d: Path, s: dict[str, list], marks: dict[str, float]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d.mkdir(parents=True, exist_ok=True)
    made = []
    t = s.get("t", [])
    spec = (("rps", "Requests and failures per second", "per second",
             (("rps", "requests/s"), ("fail_s", "failures/s"))),
            ("latency", "Response time per second (all requests)", "ms",
             (("p50", "p50"), ("p95", "p95"), ("p99", "p99"))),
            ("users_cpu", "Users and generator CPU", "users / CPU %",
             (("users", "users"), ("cpu", "generator CPU %"))))
    for name, title, ylabel, lines in spec:
        fig, ax = plt.subplots(figsize=FIGSIZE_IN, dpi=DPI)
        for key, label in lines:
            ys = s.get(key, [])
            pts = [(x, y) for x, y in zip(t, ys, strict=False) if y is not None]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label, linewidth=1.2)
        for mark, at in sorted(marks.items(), key=lambda kv: kv[1]):
            ax.axvline(at, color=MARK_COLOURS.get(mark, "black"), linestyle="--", linewidth=1)
            ax.annotate(mark, (at, 1.0), xycoords=("data", "axes fraction"), rotation=90,
                        va="top", ha="right", fontsize=8)
        ax.set_title(title)
        ax.set_xlabel("seconds since the run started (wall)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        fig.savefig(d / f"{name}.png", metadata={"Software": None})
        plt.close(fig)
        made.append(f"{PLOTS_DIR}/{name}.png")
    return made


def _index(data: dict[str, Any], plots: list[str]) -> str:
    e = html.escape
    s = data["summary"]
    cfg = data["config"]
    rows = "".join(f"<tr><td>{e(k)}</td><td>{e(_fmt(v))}</td></tr>" for k, v in s.items())
    gates = "".join(
        f"<tr><td>--{e(g['gate'])}</td><td>{g['limit']:g}</td><td>{g['value']:.4g}</td>"
        f"<td>{'held' if g['ok'] else 'FAILED'}</td></tr>" for g in data.get("gates", []))
    warn = "".join(f"<p class=warn>{e(w)}</p>" for w in data.get("warnings", []))
    imgs = "".join(f'<p><img src="{e(p)}" alt="{e(p)}" width="1000"></p>' for p in plots)
    files = "".join(f'<li><a href="{e(f)}">{e(f)}</a></li>' for f in data.get("files", []))
    head = (f"{cfg['profile']} profile, {cfg['devices']} devices at time scale "
            f"{cfg['time_scale']:g} (the requests of {data['devices_at_cadence']:g} devices at "
            f"the policy's cadence), policy {cfg['policy']}, {cfg['duration_s']:g} s, "
            f"{cfg['workers'] or 'no'} local workers")
    moments = ", ".join(f"{k} at {v:g} s" for k, v in sorted(data.get("marks", {}).items(),
                                                             key=lambda kv: kv[1]))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>syncbench load: {e(head)}</title>
<style>body{{font-family:sans-serif;max-width:1040px;margin:1em auto}}
td{{padding:2px 8px}} .warn{{color:#a00;font-weight:bold}}</style></head><body>
<h1>syncbench load</h1><p>{e(head)}</p>{warn}
<p>{e(moments) if moments else 'no marked moments'}</p>
<p><a href="locust.html">Locust's report</a></p>
<h2>Figures</h2><table>{rows}</table>
<h2>Gates</h2><table>{gates or '<tr><td>none set</td></tr>'}</table>
<h2>Over time</h2>{imgs}
<h2>Files</h2><ul>{files}</ul>
</body></html>
"""


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
