"""planado.slow_no_files on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

SLOW = "planado.slow_no_files"
ABORT = 5  # slow_abort_s default
EPS = 1e-6


def test_slow_passes_with_files_on_fast_links_only():
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1").file_end(5, "d1", "p1")
    tb.link(10, "d1", "edge")
    tb.link(20, "d1", "3g")
    tb.file_start(21, "d1", "a1", "down").file_end(22, "d1", "a1", "down")
    r = result(tail(tb), SLOW)
    assert r.verdict == "pass" and r.judged == 2


@pytest.mark.parametrize("cls", ["2g", "gprs", "edge"])
def test_slow_fails_on_file_start_on_a_slow_link(cls):
    tb = up(TraceBuilder(), cls=cls)
    tb.file_start(3, "d1", "p1", "up").file_start(4, "d1", "a1", "down")
    r = result(tail(tb), SLOW)
    assert [(v.t, v.dev) for v in r.violations] == [(3, "d1"), (4, "d1")]
    assert "p1" in r.violations[0].message and cls in r.violations[0].message
    assert "down a1" in r.violations[1].message


def test_slow_fails_when_transfer_outlives_the_turn_to_slow():
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1")
    tb.link(10, "d1", "gprs")
    tb.file_end(30, "d1", "p1")
    (v,) = result(tail(tb), SLOW).violations
    assert (v.t, v.dev) == (10, "d1")
    assert "p1" in v.message and "gprs" in v.message and "file_end" in v.message


@pytest.mark.parametrize(("end", "verdict"), [(10 + ABORT, "pass"), (10 + ABORT + EPS, "fail")])
def test_slow_abort_boundary(end, verdict):
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1")
    tb.link(10, "d1", "edge")
    tb.file_end(end, "d1", "p1", ok=False)
    r = result(tail(tb), SLOW)
    assert r.verdict == verdict and r.judged == 2  # the file_start and the abort window


def test_slow_na_without_transfers():
    tb = up(TraceBuilder(), cls="edge")
    tb.link(10, "d1", "wifi").link(20, "d1", "2g")
    assert result(tail(tb), SLOW).verdict == "n/a"


def test_slow_change_between_slow_classes_is_not_a_new_turn():
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1")
    tb.link(10, "d1", "edge").link(12, "d1", "2g")
    tb.file_end(15, "d1", "p1")  # 5 s after the first turn, 3 s after the class change
    assert result(tail(tb), SLOW).verdict == "pass"


@pytest.mark.parametrize(("end", "verdict"), [(10 + ABORT - EPS, "pass"), (10 + ABORT, "fail")])
def test_slow_abort_window_cut_by_trace_end(end, verdict):
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1")
    tb.link(10, "d1", "edge")
    tb.link(end, "d2", "wifi")  # the trace ends just before / at the deadline
    r = result(tb, SLOW)
    assert r.verdict == verdict and r.judged == (1 if verdict == "pass" else 2)


def test_slow_abort_window_cut_by_going_offline():
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1")
    tb.link(10, "d1", "edge").link(12, "d1", "offline")
    r = result(tail(tb), SLOW)
    assert r.verdict == "pass" and r.judged == 1


def test_slow_abort_window_cut_by_link_turning_fast_again():
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1")
    tb.link(10, "d1", "edge").link(12, "d1", "lte")
    tb.file_end(100, "d1", "p1")
    r = result(tail(tb), SLOW)
    assert r.verdict == "pass" and r.judged == 1


def test_slow_abort_window_cut_by_closing_the_app():
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1")
    tb.link(10, "d1", "edge")
    tb.app(11, "d1", "closed")
    # The transfer died with the app: a later turn to slow does not wait for it.
    tb.link(20, "d1", "wifi").app(21, "d1", "opened").link(30, "d1", "edge")
    r = result(tail(tb), SLOW)
    assert r.verdict == "pass" and r.judged == 1


def test_slow_lists_every_transfer_and_every_turn():
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1").file_start(1, "d1", "a1", "down")
    tb.link(10, "d1", "edge")  # both outlive it
    tb.link(20, "d1", "wifi").link(30, "d1", "2g")  # a second turn: p1 again
    tb.file_end(25, "d1", "a1", "down")
    r = result(tail(tb), SLOW)
    assert sorted((v.t, v.message.split()[2]) for v in r.violations) == [(10, "a1"), (10, "p1"), (30, "p1")]


def test_slow_devices_are_independent():
    tb = up(up(TraceBuilder()), dev="d2")
    tb.file_start(1, "d1", "p1")
    tb.link(10, "d2", "edge")
    tb.file_end(100, "d1", "p1")
    assert result(tail(tb), SLOW).verdict == "pass"


def test_slow_restart_on_the_slow_link_keeps_the_abort_window():
    tb = up(TraceBuilder())
    tb.file_start(1, "d1", "p1")
    tb.link(10, "d1", "edge")
    tb.file_start(11, "d1", "p1")  # restarted on the slow link: fails itself
    tb.file_end(12, "d1", "p1")  # ends the transfer within the abort window
    r = result(tail(tb), SLOW)
    assert [v.t for v in r.violations] == [11] and r.judged == 3
    tb2 = up(TraceBuilder())
    tb2.file_start(1, "d1", "p1")
    tb2.link(10, "d1", "edge")
    tb2.file_start(11, "d1", "p1")
    tb2.file_end(30, "d1", "p1")
    assert [v.t for v in result(tail(tb2), SLOW).violations] == [10, 11]
