"""Trace lines around violations: the device's own lines, before and after, in one pass."""

from __future__ import annotations

from bench.report.context import gather_context
from bench.testing import TraceBuilder


def test_context_shows_the_devices_lines_around_t(tmp_path):
    tb = TraceBuilder()
    for i in range(10):
        tb.sync_start(i * 10, "d1", "timer")
        tb.link(i * 10 + 1, "d2", "wifi")
    tb.dispatch(45, "create", "r1", "d1")
    path = tb.write(tmp_path / "t.jsonl")
    ctx = gather_context(path, [(40, "d1"), (90, None), (1000, "d1")], before=2, after=2)
    c = ctx[(40, "d1")]
    assert [text for _, text in c.before][-1].startswith('{"ev":"sync_start","t":40')
    assert len(c.before) == 2 and all('"d1"' in text for _, text in c.before)
    assert '"dispatch"' in c.after[0][1]  # the dispatch assigned to d1 belongs to its story
    assert '"t":50' in c.after[1][1]
    lines = path.read_text().splitlines()
    for n, text in c.before + c.after:
        assert lines[n - 1] == text  # line numbers are the file's own
    everyone = ctx[(90, None)]
    assert {'"d1"' in t for _, t in everyone.before} == {True, False}
    assert [len(ctx[(1000, "d1")].before), len(ctx[(1000, "d1")].after)] == [2, 0]


def test_no_targets_reads_nothing(tmp_path):
    assert gather_context(tmp_path / "missing.jsonl", []) == {}
