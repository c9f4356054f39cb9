"""Report plots: matplotlib on the Agg backend, deterministic PNG files.

Theory of operation
-------------------
Every plot is drawn from ``metrics.json`` (and the optional ``series``), never
from the trace, so a report can be redrawn without re-reading a large trace.
Each plot function returns a :class:`Plot` or None when it has no data (the
report then says so instead of showing an empty frame). Output is
deterministic: a fixed figure size and DPI, and PNG metadata stripped of the
"Software" entry, so two renders of the same metrics are the same bytes.

    metrics.json --+--> cdf(sync interval | staleness | upload delay)  by class
                   +--> bytes by class and direction (bar)
                   +--> Unsent over time (step)
                   +--> sync starts over time by trigger (stacked bars)
    series --------+--> one line plot per named series (server_rps, queue_wait_s, ...)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# 10 x 3.6 in at 100 dpi: 1000 px wide, the report's column width, sharp enough
# to read tick labels without zooming; short enough to see two plots at once.
FIGSIZE_IN = (10.0, 3.6)
DPI = 100
# No "Software" (matplotlib version) and no creation time in the PNG, so the
# same data gives the same file.
PNG_METADATA: dict[str, Any] = {"Software": None}
PLOTS_DIR = "plots"
# At most this many bars across a time axis (1,000 px: ~8 px a bar).
STARTS_BARS = 120

# Titles and units of the series a run may hand in (write_report's ``series``).
SERIES_LABELS = {
    "server_rps": ("Server requests per second", "requests/s"),
    "queue_wait_s": ("Server queue wait", "wait (s)"),
}

_CDF_PLOTS = (
    ("sync_interval_s", "cdf_sync_interval", "Sync interval CDF by link class",
     "time between successive sync starts of a device (s)"),
    ("staleness_s", "cdf_staleness", "Staleness CDF by link class (dispatcher change -> device has it)",
     "staleness (s)"),
    ("upload_delay_s", "cdf_upload_delay", "Upload delay CDF by link class at edit time (edit -> ack)",
     "upload delay (s)"),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plot:
    name: str      # file name under plots/, e.g. "cdf_staleness.png"
    title: str


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# Fixed margins instead of tight_layout(): the same frame on every plot, and
# one draw per figure instead of two (tight_layout draws to measure).
MARGINS = {"left": 0.075, "right": 0.985, "top": 0.9, "bottom": 0.15}


def _save(fig, out: Path, name: str, title: str) -> Plot:
    fig.subplots_adjust(**MARGINS)
    fig.savefig(out / name, dpi=DPI, format="png", metadata=PNG_METADATA)
    _plt().close(fig)
    return Plot(name=name, title=title)


def _cdf(plt, out: Path, metrics: dict, key: str, stem: str, title: str, xlabel: str) -> Plot | None:
    data = metrics.get("cdf", {}).get(key) or {}
    data = {c: pts for c, pts in data.items() if pts}
    if not data:
        return None
    fig, ax = plt.subplots(figsize=FIGSIZE_IN)
    for cls, pts in data.items():
        # Start each line at F = 0 so the first step is drawn.
        xs = [pts[0][0]] + [p[0] for p in pts]
        ys = [0.0] + [p[1] for p in pts]
        n = metrics.get(key, {}).get("by_class", {}).get(cls, {}).get("count", len(pts))
        ax.step(xs, ys, where="post", label=f"{cls} (n={n})")
    if all(p[0] > 0 for pts in data.values() for p in pts):
        lo = min(p[0] for pts in data.values() for p in pts)
        hi = max(p[0] for pts in data.values() for p in pts)
        if hi / lo > 100:
            ax.set_xscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("fraction of samples <= x")
    ax.set_ylim(0, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return _save(fig, out, f"{stem}.png", title)


def _bytes(plt, out: Path, metrics: dict) -> Plot | None:
    by_class = metrics.get("bytes", {}).get("by_class") or {}
    if not by_class or not any(v for row in by_class.values() for v in row.values()):
        return None
    classes = list(by_class)
    up = [by_class[c].get("up", 0) for c in classes]
    down = [by_class[c].get("down", 0) for c in classes]
    scale, unit = _byte_unit(max(up + down))
    fig, ax = plt.subplots(figsize=FIGSIZE_IN)
    xs = range(len(classes))
    w = 0.4
    ax.bar([x - w / 2 for x in xs], [v / scale for v in up], w, label="upload (photos)")
    ax.bar([x + w / 2 for x in xs], [v / scale for v in down], w, label="download (attached files)")
    ax.set_xticks(list(xs), classes)
    title = "File bytes moved by link class and direction"
    ax.set_title(title)
    ax.set_xlabel("link class at transfer start")
    ax.set_ylabel(f"bytes moved ({unit})")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, out, "bytes_by_class.png", title)


def _time_unit(t_max: float) -> tuple[float, str]:
    """Seconds, minutes or hours for a time axis, so a day reads as 0-24 h, not 0-86400 s."""
    for scale, unit in ((3600.0, "h"), (60.0, "min")):
        if t_max >= 3 * scale:
            return scale, unit
    return 1.0, "s"


def _int_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _byte_unit(peak: float) -> tuple[float, str]:
    for scale, unit in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if peak >= scale:
            return scale, unit
    return 1.0, "B"


def _unsent(plt, out: Path, metrics: dict) -> Plot | None:
    u = metrics.get("unsent") or {}
    true_s, shown_s = u.get("true_series") or [], u.get("shown_series") or []
    if not true_s and not shown_s:
        return None
    scale, unit = _time_unit(max(p[0] for p in true_s + shown_s))
    fig, ax = plt.subplots(figsize=FIGSIZE_IN)
    for series, label, style in ((true_s, "true unsent (edits not acked)", "-"),
                                 (shown_s, "Unsent shown to users", "--")):
        if series:
            # Both counts are 0 before their first change (trace.md: "0 before any").
            xs = [(series[0][0]) / scale] + [p[0] / scale for p in series]
            ys = [0] + [p[1] for p in series]
            ax.step(xs, ys, where="post", label=label, linestyle=style)
    title = "Unsent changes over time, all devices"
    ax.set_title(title)
    ax.set_xlabel(f"run time ({unit}); peak per {u.get('bucket_s', 1):g} s bucket")
    ax.set_ylabel("unsent changes")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(_int_locator())
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return _save(fig, out, "unsent_over_time.png", title)


def _starts(plt, out: Path, metrics: dict) -> Plot | None:
    s = metrics.get("sync_starts_series") or {}
    buckets = s.get("buckets") or []
    if not buckets:
        return None
    width = s.get("bucket_s", 1.0)
    # Regroup into at most STARTS_BARS bars: bars thinner than a few pixels
    # turn a bar chart into a barcode.
    while buckets[-1][0] / width > STARTS_BARS:
        width *= 2
    grouped: dict[int, dict[str, int]] = {}
    for t, counts in buckets:
        g = grouped.setdefault(int(t // width), {})
        for k, v in counts.items():
            g[k] = g.get(k, 0) + v
    buckets = [[i * width, grouped[i]] for i in sorted(grouped)]
    triggers = sorted({k for _, c in buckets for k in c})
    fig, ax = plt.subplots(figsize=FIGSIZE_IN)
    xs = [b[0] for b in buckets]
    scale, unit = _time_unit(xs[-1] + width)
    bottom = [0.0] * len(buckets)
    for trig in triggers:
        ys = [b[1].get(trig, 0) for b in buckets]
        ax.bar([x / scale for x in xs], ys, width=width / scale, bottom=bottom, align="edge", label=trig)
        bottom = [a + b for a, b in zip(bottom, ys, strict=True)]
    ax.set_ylim(0, max(bottom) * 1.3)  # head room for the legend above the tallest bar
    title = "Sync starts over time by trigger"
    ax.set_title(title)
    ax.set_xlabel(f"run time ({unit})")
    ax.set_ylabel(f"sync starts per {width:g} s")
    ax.yaxis.set_major_locator(_int_locator())
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize="small", ncol=min(len(triggers), 5))
    return _save(fig, out, "sync_starts_by_trigger.png", title)


def _series(plt, out: Path, name: str, points: list) -> Plot | None:
    pts = [p for p in points if p is not None and len(p) >= 2]
    if not pts:
        return None
    title, ylabel = SERIES_LABELS.get(name, (name.replace("_", " "), name))
    fig, ax = plt.subplots(figsize=FIGSIZE_IN)
    scale, unit = _time_unit(max(p[0] for p in pts))
    ax.plot([p[0] / scale for p in pts], [p[1] for p in pts], linewidth=1.2)
    ax.set_title(title)
    ax.set_xlabel(f"run time ({unit})")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    return _save(fig, out, f"series_{_safe(name)}.png", title)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60] or "series"


def write_plots(out_dir: str | Path, metrics: dict[str, Any],
                series: dict[str, list] | None = None) -> list[Plot]:
    """Write every plot that has data into ``out_dir/plots``; return them in report order."""
    out = Path(out_dir) / PLOTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()  # a rebuilt report must not show plots of data it no longer has
    plt = _plt()
    plots: list[Plot | None] = [_cdf(plt, out, metrics, *spec) for spec in _CDF_PLOTS]
    plots += [_bytes(plt, out, metrics), _unsent(plt, out, metrics), _starts(plt, out, metrics)]
    for name in sorted(series or {}):
        plots.append(_series(plt, out, name, series[name]))
    return [p for p in plots if p is not None]
