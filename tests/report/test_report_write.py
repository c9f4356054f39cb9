"""write_report: every file, failures first, escaping, context lines, plots."""

from __future__ import annotations

import re

import orjson
import pytest
from report_stories import EVIL, failing_story

from bench.rules.render import as_json

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report(story_report):
    return story_report


def test_every_file_is_written(report):
    out, index, _ = report
    assert index == out / "index.html"
    for name in ("trace.jsonl", "verdicts.json", "junit.xml", "metrics.json", "run.json", "index.html"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "trace.jsonl").read_bytes() == (out.parent / "report-src" / "trace.jsonl").read_bytes()


def test_plots_are_written_and_non_empty(report):
    out, _, _ = report
    names = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert names == ["bytes_by_class.png", "cdf_staleness.png", "cdf_sync_interval.png", "cdf_upload_delay.png",
                     "series_queue_wait_s.png", "series_server_rps.png", "sync_starts_by_trigger.png",
                     "unsent_over_time.png"]
    for n in names:
        data = (out / "plots" / n).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, n
        assert b"Software" not in data[:400]  # no matplotlib version stamped in


def test_verdicts_json_is_the_check_object_plus_run_facts(report):
    out, _, tb = report
    v = orjson.loads((out / "verdicts.json").read_bytes())
    results = tb.check()
    expected = as_json("planado", results)
    assert v["policy"] == expected["policy"] and v["rules"] == expected["rules"]
    assert v["seed"] == 42 and v["scenario"] == "two devices <b>" and v["verdict"] == "fail"
    assert v["counts"]["fail"] == sum(r.verdict == "fail" for r in results) > 0
    junit = (out / "junit.xml").read_text()
    assert 'name="planado.offline_no_push"' in junit and "<failure" in junit
    assert '<testsuite name="syncbench.two devices &lt;b&gt;"' in junit and 'classname="syncbench.planado"' in junit


def test_index_lists_failures_first(report):
    _, index, _ = report
    page = index.read_text()
    table = page[page.index('id="verdict-table"'):page.index("</table>", page.index('id="verdict-table"'))]
    verdicts = re.findall(r'<span class="v (\w+)">', table)
    assert verdicts[0] == "fail" and "fail" not in verdicts[verdicts.index("pass"):]
    assert 'id="overall-verdict">FAIL<' in page
    assert '<header class="fail">' in page


def test_index_escapes_everything_from_the_trace_and_scenario(report):
    _, index, _ = report
    page = index.read_text()
    assert "<script" not in page and EVIL not in page
    assert "r&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "two devices &lt;b&gt;" in page


def test_index_shows_violations_with_trace_context(report):
    _, index, _ = report
    page = index.read_text()
    start = page.index('id="rule-planado-offline_no_push"')
    section = page[start:page.index("<h3", start + 10) if "<h3" in page[start + 10:] else len(page)]
    assert "t=203 s" in section and "<b>d2</b>" in section and "while offline" in section
    # The device's lines before and after t, with their line numbers in trace.jsonl.
    assert "&quot;ev&quot;:&quot;link&quot;,&quot;t&quot;:201,&quot;dev&quot;:&quot;d2&quot;" in section
    assert "violation at t=203" in section
    assert "&quot;t&quot;:260" in section


def test_index_links_files_plots_and_key_metrics(report):
    _, index, _ = report
    page = index.read_text()
    for f in ("trace.jsonl", "verdicts.json", "junit.xml"):
        assert f'href="{f}"' in page
    assert page.count('<img src="plots/') == 8
    assert 'id="metrics-table"' in page and "upload delay, p95" in page
    assert "time_scale" in page and ">sim<" in page


def test_run_json_keeps_scenario_series_and_extra(report):
    out, _, _ = report
    run = orjson.loads((out / "run.json").read_bytes())
    assert run["scenario"]["devices"] == 2 and run["extra"]["mode"] == "sim"
    assert run["series"]["server_rps"][1] == [60, 3.5]


def test_missing_trace_is_an_error(tmp_path):
    from bench.report import write_report

    with pytest.raises(FileNotFoundError, match="nope.jsonl"):
        write_report(tmp_path / "r", trace_path=tmp_path / "nope.jsonl", policy="planado", results=[])


@pytest.mark.parametrize("series, message", [
    ([1, 2], "series must be a dict"),
    ({"rps": 5}, "series 'rps': must be a list"),
    ({"rps": [(0, 1), (1, "x")]}, r"series 'rps': point 1 must be a \(t, value\) pair"),
    ({"rps": [(0, float("nan"))]}, "point 0"),
])
def test_bad_series_is_an_error_before_anything_is_written(tmp_path, series, message):
    from bench.report import write_report

    trace = failing_story().write(tmp_path / "t.jsonl")
    with pytest.raises(ValueError, match=message):
        write_report(tmp_path / "r", trace_path=trace, policy="planado", results=[], series=series)
    assert not (tmp_path / "r").exists()
