"""planado.last_sync_time on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import result, up

from bench.testing import TraceBuilder

LAST = "planado.last_sync_time"
LAG = 1  # display_lag_s default
EPS = 1e-6

def tail(tb: TraceBuilder, t: float = 100) -> TraceBuilder:
    """An unrelated event long after, so no window is cut by the trace end."""
    return tb.link(t, "zz", "offline")


def test_last_sync_passes_with_start_or_end_time():
    tb = up(TraceBuilder())
    tb.sync(10, "d1", "open", end=12)
    tb.last_sync(12.2, "d1", 12)
    tb.sync(100, "d1", "timer", end=104)
    tb.last_sync(104, "d1", 100)  # the start time is right too
    r = result(tail(tb, 200), LAST)
    assert r.verdict == "pass" and r.judged >= 2


def test_last_sync_fails_when_not_updated():
    tb = up(TraceBuilder())
    s1 = tb.sync(10, "d1", "open", end=12)
    tb.last_sync(12, "d1", 12)
    s2 = tb.sync(100, "d1", "timer", end=104)
    (v,) = result(tail(tb, 200), LAST).violations
    assert (v.t, v.dev) == (105, "d1")
    assert "shows 12" in v.message and s2 in v.message and "100-104" in v.message
    assert s1 not in v.message


def test_last_sync_fails_when_showing_a_time_without_success():
    tb = up(TraceBuilder())
    tb.last_sync(3, "d1", 3)
    (v,) = result(tail(tb), LAST).violations
    assert v.t == 3 and "no sync has succeeded" in v.message


def test_last_sync_na_without_syncs_or_displays():
    tb = up(TraceBuilder())
    tb.sync(10, "d1", "timer", ok=False)
    tb.link(20, "d2", "wifi")
    assert result(tail(tb), LAST).verdict == "n/a"


def test_last_sync_failed_syncs_do_not_update_it():
    tb = up(TraceBuilder())
    tb.sync(10, "d1", "open", end=11)
    tb.last_sync(11, "d1", 11)
    tb.sync(100, "d1", "timer", end=101, ok=False)
    assert result(tail(tb, 200), LAST).verdict == "pass"
    tb.last_sync(101, "d1", 101)  # shows the failed one
    (v,) = result(tail(tb, 200), LAST).violations
    assert v.t == 101 and "shows 101" in v.message


@pytest.mark.parametrize(("at", "verdict"), [(9.5, "pass"), (20.5, "pass"), (9.5 - EPS, "fail"),
                                             (20.5 + EPS, "fail"), (15, "fail")])
def test_last_sync_half_second_tolerance(at, verdict):
    tb = up(TraceBuilder())
    tb.sync(10, "d1", "open", end=20)
    tb.last_sync(20, "d1", at)
    assert result(tail(tb), LAST).verdict == verdict


@pytest.mark.parametrize(("at", "verdict"), [(20 + LAG, "pass"), (20 + LAG + EPS, "fail")])
def test_last_sync_lag_boundary(at, verdict):
    tb = up(TraceBuilder())
    tb.sync(10, "d1", "open", end=20)
    tb.last_sync(at, "d1", 20)
    assert result(tail(tb), LAST).verdict == verdict


@pytest.mark.parametrize(("at", "verdict"), [(50 + LAG, "pass"), (50 + LAG + EPS, "fail")])
def test_last_sync_app_start_grace(at, verdict):
    tb = TraceBuilder()
    tb.link(0, "d1", "wifi")
    tb.sync(10, "d1", "timer", end=11)  # a background service synced while closed
    tb.app(50, "d1", "opened")
    tb.last_sync(at, "d1", 11)
    assert result(tail(tb), LAST).verdict == verdict


def test_last_sync_null_before_any_and_null_display_fails_after_success():
    tb = up(TraceBuilder())
    tb.last_sync(1, "d1", None)  # right: none yet
    tb.sync(10, "d1", "open", end=11)
    tb.last_sync(11.5, "d1", None)
    (v,) = result(tail(tb), LAST).violations
    assert v.t == 12 and "shows null" in v.message


def test_last_sync_corrected_at_same_t_never_fails():
    tb = up(TraceBuilder())
    tb.sync(10, "d1", "open", end=11)
    tb.last_sync(11, "d1", 11)
    tb.last_sync(40, "d1", 3).last_sync(40, "d1", 11)
    assert result(tail(tb), LAST).verdict == "pass"


def test_last_sync_closing_the_app_cuts():
    tb = up(TraceBuilder())
    tb.sync(10, "d1", "open", end=11)
    tb.app(11.5, "d1", "closed")
    assert result(tail(tb), LAST).verdict == "n/a"


def test_last_sync_cut_by_trace_end():
    tb = up(TraceBuilder())
    tb.sync(10, "d1", "open", end=11)
    assert result(tb, LAST).verdict == "n/a"


def test_last_sync_every_stretch_is_a_violation():
    tb = up(TraceBuilder())
    tb.sync(10, "d1", "open", end=11)
    tb.last_sync(20, "d1", 11)
    tb.sync(100, "d1", "timer", end=101)
    tb.last_sync(150, "d1", 101)
    r = result(tail(tb, 200), LAST)
    assert [v.t for v in r.violations] == [12, 102]


def test_last_sync_overlapping_syncs_use_the_latest_to_succeed():
    tb = up(TraceBuilder())
    a = tb.sync_start(10, "d1", "timer")
    b = tb.sync_start(12, "d1", "manual")
    tb.sync_end(14, "d1", b).last_sync(14, "d1", 14)
    tb.sync_end(20, "d1", a)
    tb.last_sync(20, "d1", 10)  # a: started 10, ended last
    assert result(tail(tb), LAST).verdict == "pass"
