"""``index.html``: one self-contained page a person reads at a glance.

Theory of operation
-------------------
The page is built from plain data (verdicts, metrics, plots, violation
context) by string templates: no template engine, inline CSS, images linked
relatively as ``plots/*.png`` so the directory can be zipped or served as it
is. Everything that comes from a trace, a scenario or a caller goes through
:func:`html.escape`, since a trace is user input (an exported app's record ids
can hold anything). Layout, top to bottom::

    header   scenario, policy, seed, mode, overall verdict (big, coloured)
    links    trace.jsonl, verdicts.json, junit.xml, metrics.json
    table    one row per rule, failures first
    details  each violation: time, device, message, trace lines around it
    metrics  the key metrics table
    plots    the PNGs
    run      run facts (extra) and the scenario as loaded
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

import orjson

from bench.report.context import MAX_VIOLATIONS_PER_RULE, Context
from bench.report.keys import KEY_METRICS
from bench.report.metrics import CLASS_ORDER
from bench.report.plots import Plot
from bench.rules.base import FAIL, NA, PASS, REGISTRY, RuleResult, fmt_t

_ORDER = {FAIL: 0, PASS: 1, NA: 2}
_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d232b;background:#f5f6f8}
main{max-width:1080px;margin:0 auto;padding:0 20px 40px}
header{padding:22px 20px;color:#fff;display:flex;gap:28px;align-items:center;flex-wrap:wrap}
header.fail{background:#b3261e}header.pass{background:#1e7d34}header.na{background:#5b6470}
.big{font-size:56px;font-weight:800;letter-spacing:2px;line-height:1}
header dl{display:grid;grid-template-columns:auto auto;gap:2px 14px;margin:0}
header dt{opacity:.8}header dd{margin:0;font-weight:600}
nav{margin:14px 0}nav a{margin-right:16px}
h2{margin:28px 0 8px;border-bottom:2px solid #d6dae0;padding-bottom:4px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d6dae0;padding:5px 9px;text-align:left;vertical-align:top}
th{background:#eceff3}#metrics-table{max-width:640px}td.num{text-align:right;font-variant-numeric:tabular-nums}
.v{font-weight:700;border-radius:4px;padding:1px 7px;color:#fff;white-space:nowrap}
.v.fail{background:#b3261e}.v.pass{background:#1e7d34}.v.na{background:#8a929c}
tr.fail td{background:#fdf0ef}
.violation{background:#fff;border-left:4px solid #b3261e;margin:8px 0;padding:6px 10px}
.violation .msg{font-weight:600}
pre{background:#1d232b;color:#e3e7ec;padding:8px 10px;overflow-x:auto;font-size:12.5px;margin:6px 0}
pre .at{color:#ffb4ab;font-weight:700}pre .ln{color:#8a929c}
figure{margin:14px 0;background:#fff;padding:8px;border:1px solid #d6dae0}
figure img{max-width:100%;height:auto;display:block}
figcaption{color:#5b6470;font-size:13px}
.muted{color:#5b6470}.small{font-size:12.5px}
td{overflow-wrap:anywhere}pre.json{white-space:pre-wrap;background:#fff;color:#1d232b;border:1px solid #d6dae0}
"""


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "&mdash;"
    if unit == "B" and isinstance(value, int | float):
        for scale, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
            if value >= scale:
                return f"{value / scale:.3g} {name}"
        return f"{int(value)} B"
    if unit == "%" and isinstance(value, int | float):
        return f"{value * 100:.3g} %"
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:.3g}" if abs(value) < 100 else f"{value:,.0f}"
    elif isinstance(value, int | float):
        text = f"{int(value):,}"
    else:
        text = escape(str(value))
    return f"{text} {escape(unit)}".rstrip()


def overall(results: Sequence[RuleResult]) -> str:
    """FAIL if any rule fails, PASS if any passed, else N/A (nothing was judged)."""
    if any(r.verdict == FAIL for r in results):
        return FAIL
    return PASS if any(r.verdict == PASS for r in results) else NA


def _cls(verdict: str) -> str:
    return "na" if verdict == NA else verdict


def _header(*, scenario: str | None, source: str | None, policy: str, seed: Any, mode: Any,
            results: Sequence[RuleResult]) -> str:
    v = overall(results)
    n = {k: sum(r.verdict == k for r in results) for k in (FAIL, PASS, NA)}
    # A checked recorded trace has no scenario: its file name says what it is.
    first = ("scenario", scenario) if scenario or not source else ("trace", source)
    facts = [(first[0], first[1] or "(none)"), ("policy", policy),
             ("seed", "(none)" if seed is None else seed), ("mode", mode or "(unknown)"),
             ("rules", f"{n[FAIL]} fail, {n[PASS]} pass, {n[NA]} n/a")]
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(str(val))}</dd>" for k, val in facts)
    return (f'<header class="{_cls(v)}"><div class="big" id="overall-verdict">{escape(v.upper())}</div>'
            f"<dl>{dl}</dl></header>")


def _verdict_table(results: Sequence[RuleResult]) -> str:
    rows = []
    for r in sorted(results, key=lambda r: (_ORDER.get(r.verdict, 3), r.id)):
        link = f'<a href="#{escape(_anchor(r.id))}">{len(r.violations)}</a>' if r.violations else "0"
        why = (f'<div class="muted why">{escape(r.why)}</div>'
               if r.verdict == NA and getattr(r, "why", None) else "")
        rows.append(f'<tr class="{_cls(r.verdict)}"><td>{escape(r.id)}{_title(r.id)}{why}</td>'
                    f'<td><span class="v {_cls(r.verdict)}">{escape(r.verdict.upper())}</span></td>'
                    f'<td class="num">{r.judged}</td><td class="num">{link}</td></tr>')
    return ('<table id="verdict-table"><thead><tr><th>rule</th><th>verdict</th><th>instances judged</th>'
            f'<th>violations</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _title(rule_id: str) -> str:
    """The rule's one-line title under its id, so a reader need not look it up."""
    rule = REGISTRY.get(rule_id)
    title = getattr(rule, "title", "") if rule is not None else ""
    return f'<div class="muted small">{escape(title)}</div>' if title else ""


def _anchor(rule_id: str) -> str:
    return "rule-" + rule_id.replace(".", "-")


def _context_pre(ctx: Context | None) -> str:
    if ctx is None or (not ctx.before and not ctx.after):
        return '<p class="muted">no trace lines for this device near this time</p>'
    ln = [f'<span class="ln">{n:>7}</span>  {escape(text)}' for n, text in ctx.before]
    ln.append(f'<span class="at">{"":>7}  ---- violation at t={escape(fmt_t(ctx.t))} ----</span>')
    ln += [f'<span class="ln">{n:>7}</span>  {escape(text)}' for n, text in ctx.after]
    return '<pre class="context">' + "\n".join(ln) + "</pre>"


def _violations(results: Sequence[RuleResult], contexts: dict) -> str:
    failing = sorted((r for r in results if r.verdict == FAIL), key=lambda r: r.id)
    if not failing:
        return '<p class="muted">No violations.</p>'
    parts = []
    for r in failing:
        parts.append(f'<h3 id="{escape(_anchor(r.id))}">{escape(r.id)} '
                     f'<span class="muted">({len(r.violations)} violation(s))</span></h3>')
        for v in r.violations[:MAX_VIOLATIONS_PER_RULE]:
            parts.append(f'<div class="violation"><div>t={escape(fmt_t(v.t))} s &middot; device '
                         f'<b>{escape(v.dev or "-")}</b></div><div class="msg">{escape(v.message)}</div>'
                         f"{_context_pre(contexts.get((v.t, v.dev)))}</div>")
        more = len(r.violations) - MAX_VIOLATIONS_PER_RULE
        if more > 0:
            parts.append(f'<p class="muted">... and {more} more in verdicts.json and junit.xml</p>')
    return "".join(parts)


def _metrics_table(metrics: dict[str, Any]) -> str:
    key = metrics.get("key") or {}
    # A ratio reads best as a percentage ("0.09 %" rather than "0.000934").
    rows = [f"<tr><td>{escape(label)}</td><td class=\"num\">{_fmt(key.get(k), unit or ('%' if 'ratio' in k else ''))}"
            "</td></tr>" for k, label, unit, _worse in KEY_METRICS]
    facts = (("events", metrics.get("events")), ("devices", metrics.get("devices")),
             ("run time (spec s)", metrics.get("duration_s")), ("device-hours running", metrics.get("device_hours")),
             ("sync starts", metrics.get("sync", {}).get("starts")),
             ("changes never acked", metrics.get("upload_delay_s", {}).get("pending")),
             ("pushes never delivered", metrics.get("push_delay_s", {}).get("undelivered")))
    rows += [f"<tr><td>{escape(k)}</td><td class=\"num\">{_fmt(v)}</td></tr>" for k, v in facts]
    return f'<table id="metrics-table"><tbody>{"".join(rows)}</tbody></table>'


def _class_table(metrics: dict[str, Any]) -> str:
    """Per link class: how often devices synced and how long things took there."""
    dists = [(name, metrics.get(name, {}).get("by_class") or {}) for name in
             ("sync_interval_s", "upload_delay_s", "staleness_s")]
    syncs = metrics.get("sync", {}).get("by_class") or {}
    moved = metrics.get("bytes", {}).get("by_class") or {}
    seen = set(syncs) | set(moved) | {c for _, d in dists for c in d}
    classes = [c for c in CLASS_ORDER if c in seen] + sorted(seen - set(CLASS_ORDER))
    if not classes:
        return ""
    head = ("<tr><th>link class</th><th>sync starts</th><th>sync interval p50 / p95</th>"
            "<th>upload delay p50 / p95</th><th>staleness p50 / p95</th><th>bytes up / down</th></tr>")
    rows = []
    for c in classes:
        cells = [f'<td class="num">{_fmt(syncs.get(c))}</td>']
        for _, d in dists:
            s = d.get(c) or {}
            cells.append(f'<td class="num">{_fmt(s.get("p50"), "s")} / {_fmt(s.get("p95"), "s")}</td>')
        b = moved.get(c) or {}
        cells.append(f'<td class="num">{_fmt(b.get("up"), "B")} / {_fmt(b.get("down"), "B")}</td>')
        rows.append(f"<tr><td>{escape(c)}</td>{''.join(cells)}</tr>")
    return (f'<h3>By link class</h3><table id="class-table"><thead>{head}</thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _plots(plots: Sequence[Plot]) -> str:
    if not plots:
        return '<p class="muted">No plots: the trace holds no data to draw.</p>'
    return "".join(f'<figure><img src="plots/{escape(p.name)}" alt="{escape(p.title)}" width="1000" height="360">'
                   f"<figcaption>{escape(p.title)}</figcaption></figure>" for p in plots)


def _run(extra: dict[str, Any] | None, scenario: Any) -> str:
    parts = []
    if extra:
        rows = "".join(f"<tr><td>{escape(str(k))}</td><td>{_fact(v)}</td></tr>" for k, v in extra.items())
        parts.append(f'<table id="run-facts"><tbody>{rows}</tbody></table>')
    if scenario is not None:
        text = _json(scenario, indent=True)
        parts.append(f"<details><summary>Scenario as loaded</summary><pre>{escape(text)}</pre></details>")
    return "".join(parts) or '<p class="muted">No run facts recorded.</p>'


def _json(v: Any, *, indent: bool = False) -> str:
    # Same options as write.dump_json, so the page shows what run.json holds
    # (and a rebuild from run.json shows the same).
    opts = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(v, option=opts, default=str).decode()


def _fact(v: Any) -> str:
    """A run fact: scalars inline; a dict or list folded, as indented JSON, so one row never widens the page."""
    if isinstance(v, str):
        return escape(v)
    if isinstance(v, dict | list | tuple) and v:
        text = _json(v, indent=True)
        return (f"<details><summary>{len(v)} {'entries' if isinstance(v, dict) else 'items'}</summary>"
                f'<pre class="json">{escape(text)}</pre></details>')
    return escape(_json(v))


def render_html(*, results: Sequence[RuleResult], policy: str, scenario_name: str | None, scenario: Any,
                source: str | None = None,
                seed: Any, extra: dict[str, Any] | None, metrics: dict[str, Any], plots: Sequence[Plot],
                contexts: dict) -> str:
    mode = (extra or {}).get("mode")
    v = overall(results).upper()
    title = f"{v} · {scenario_name or source or 'run'} · {policy}"
    links = " ".join(f'<a href="{f}">{f}</a>' for f in ("trace.jsonl", "verdicts.json", "junit.xml", "metrics.json"))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        + _header(scenario=scenario_name, source=source, policy=policy, seed=seed, mode=mode, results=results)
        + f"<main><nav>{links}</nav>"
        + f'<section id="verdicts"><h2>Verdicts</h2>{_verdict_table(results)}</section>'
        + f'<section id="violations"><h2>Violations</h2>{_violations(results, contexts)}</section>'
        + f'<section id="metrics"><h2>Key metrics</h2>{_metrics_table(metrics)}{_class_table(metrics)}</section>'
        + f'<section id="plots"><h2>Plots</h2>{_plots(plots)}</section>'
        + f'<section id="run"><h2>Run</h2>{_run(extra, scenario)}</section>'
        + "</main></body></html>\n"
    )
