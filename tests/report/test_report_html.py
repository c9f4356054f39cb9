"""The page itself, rendered from plain data (no trace, no plots): edge cases and formatting."""

from __future__ import annotations

from bench.report.html import render_html
from bench.rules.base import RuleResult, Violation


def _page(results, **kw):
    return render_html(results=results, policy="planado", scenario_name=kw.get("name"), scenario=None, seed=None,
                       extra=None, metrics={}, plots=[], contexts={})


def test_nothing_judged_is_na_not_pass():
    page = _page([RuleResult(id="core.no_loss", verdict="n/a", judged=0)])
    assert 'id="overall-verdict">N/A<' in page and '<header class="na">' in page
    assert "No violations." in page and "No plots" in page


def test_violation_without_device_or_context_still_reads():
    r = RuleResult(id="core.exactly_once", verdict="fail", judged=1,
                   violations=(Violation(t=1.5, dev=None, message="change <c1> applied twice"),))
    page = _page([RuleResult(id="a.pass", verdict="pass", judged=3), r], name="<x>")
    assert page.index("core.exactly_once") < page.index("a.pass")
    assert "change &lt;c1&gt; applied twice" in page and "<b>-</b>" in page
    assert "no trace lines for this device" in page and "&lt;x&gt;" in page


def test_per_class_table_and_human_units():
    metrics = {"key": {"failed_sync_ratio": 0.25, "bytes_up": 2_500_000},
               "sync": {"by_class": {"edge": 3, "wifi": 5}},
               "sync_interval_s": {"by_class": {"edge": {"p50": 120.0, "p95": 131.0}}},
               "bytes": {"by_class": {"wifi": {"up": 1500, "down": 0}}}}
    page = render_html(results=[], policy="planado", scenario_name=None, scenario=None, seed=0, extra=None,
                       metrics=metrics, plots=[], contexts={})
    assert ">25 %<" in page and ">2.5 MB<" in page
    table = page[page.index('id="class-table"'):]
    assert table.index(">edge<") < table.index(">wifi<")  # slowest first
    assert "120 s / 131 s" in table and "1.5 kB / 0 B" in table
    assert "<dd>0</dd>" in page  # seed 0 is a seed
