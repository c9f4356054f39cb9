"""One full report per test worker, shared read-only by the report tests (plots cost seconds)."""

from __future__ import annotations

import pytest
from report_stories import failing_story, make_report

STORY_SERIES = {"server_rps": [(0, 1.0), (60, 3.5), (120, 2.0)], "queue_wait_s": [(0, 0.01), (60, 0.2)]}


@pytest.fixture(scope="session")
def story_report(tmp_path_factory):
    """(report dir, index.html, TraceBuilder) of :func:`failing_story` with two series. Do not modify."""
    out = tmp_path_factory.mktemp("story") / "report"
    tb = failing_story()
    index = make_report(out, tb, series=STORY_SERIES)
    return out, index, tb
