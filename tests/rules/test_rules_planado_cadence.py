"""planado.cadence on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import up

from bench.testing import TraceBuilder

CADENCE = "planado.cadence"
LIMIT = 130  # interval_s 120 + cadence_tol_s 10 (rules.md defaults)
EPS = 1e-6  # one step: the writer keeps microseconds

def result(tb: TraceBuilder, rule: str = CADENCE, **params):
    return tb.results(**params)[rule]


def timers(*starts: float, dev: str = "d1", tb: TraceBuilder | None = None) -> TraceBuilder:
    tb = tb or up(TraceBuilder(), dev=dev)
    for t in starts:
        tb.sync(t, dev, "timer", end=t + 0.5)
    return tb


def test_cadence_passes_with_a_sync_every_two_minutes():
    tb = up(TraceBuilder())
    for k in range(5):
        tb.sync(1 + 120 * k, "d1", "timer")
    r = result(tb)
    assert r.verdict == "pass" and r.judged == 5


def test_cadence_fails_when_idle_too_long_after_a_sync_end():
    tb = up(TraceBuilder())
    sid = tb.sync(1, "d1", "open", end=2)
    tb.sync(200, "d1", "timer")
    r = result(tb)
    assert r.verdict == "fail"
    (v,) = r.violations
    assert (v.t, v.dev) == (2, "d1")
    assert sid in v.message and "132" in v.message


def test_cadence_fails_when_idle_from_coming_online():
    tb = up(TraceBuilder(), t=10)
    tb.sync(150, "d1", "timer")
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (10, "d1")
    assert "online and running" in v.message and "140" in v.message


def test_cadence_na_when_never_online_and_running():
    tb = TraceBuilder()
    tb.link(0, "d1", "wifi")  # online, app never opened
    tb.app(0, "d2", "opened")  # running, never online
    tb.link(500, "d1", "lte").link(500, "d2", "offline")
    assert result(tb).verdict == "n/a"


@pytest.mark.parametrize(("gap", "verdict"), [(LIMIT, "pass"), (LIMIT + EPS, "fail")])
def test_cadence_boundary_exactly_interval_plus_tol(gap, verdict):
    tb = up(TraceBuilder())
    tb.sync(100, "d1", "timer", end=101)
    tb.sync(101 + gap, "d1", "timer")
    assert result(tb).verdict == verdict


def test_cadence_tolerance_follows_params():
    tb = up(TraceBuilder())
    tb.sync(70, "d1", "timer")
    assert result(tb, interval_s=60, cadence_tol_s=10).verdict == "pass"
    assert result(tb, interval_s=60, cadence_tol_s=9.999).verdict == "fail"


def test_cadence_one_violation_per_idle_stretch():
    tb = up(TraceBuilder())
    tb.sync(1000, "d1", "timer")  # idle for 1000 s: still one stretch
    assert len(result(tb).violations) == 1


def test_cadence_every_stretch_is_reported():
    tb = up(TraceBuilder())
    tb.sync(200, "d1", "timer", end=201)
    tb.sync(400, "d1", "timer", end=401)
    tb.sync(500, "d1", "timer", end=501)
    r = result(tb)
    assert [v.t for v in r.violations] == [0, 201]
    assert r.judged == 3


def test_cadence_cut_by_trace_end_is_not_judged():
    tb = up(TraceBuilder())
    tb.link(LIMIT, "d1", "lte")  # last event exactly at the deadline: not past it
    assert result(tb).verdict == "n/a"
    tb.link(LIMIT + EPS, "d1", "wifi")
    assert result(tb).verdict == "fail"


@pytest.mark.parametrize(("down", "verdict"), [(100, "n/a"), (LIMIT, "n/a"), (LIMIT + 1, "fail")])
def test_cadence_cut_by_going_offline(down, verdict):
    tb = up(TraceBuilder())
    tb.link(down, "d1", "offline")
    tb.link(1000, "d2", "wifi")  # the trace goes on long after
    assert result(tb).verdict == verdict


def test_cadence_cut_by_closing_the_app():
    tb = up(TraceBuilder())
    tb.app(100, "d1", "closed")
    tb.link(1000, "d1", "lte")
    assert result(tb).verdict == "n/a"


def test_cadence_restarts_the_clock_when_back_online():
    tb = up(TraceBuilder())
    tb.link(100, "d1", "offline").link(200, "d1", "wifi")
    tb.sync(330, "d1", "timer")  # 130 s after coming back: passes
    assert result(tb).verdict == "pass"


def test_cadence_failed_syncs_count_as_syncs():
    tb = up(TraceBuilder())
    for k in range(4):
        tb.sync(100 * k + 1, "d1", "timer", end=100 * k + 2, ok=False)
    r = result(tb)
    assert r.verdict == "pass" and r.judged == 4


def test_cadence_idle_clock_starts_at_a_failed_sync_end():
    tb = up(TraceBuilder())
    tb.sync(1, "d1", "timer", end=50, ok=False)
    tb.sync(180, "d1", "timer")
    assert result(tb).verdict == "pass"
    tb2 = up(TraceBuilder())
    tb2.sync(1, "d1", "timer", end=50, ok=False)
    tb2.sync(180 + EPS, "d1", "timer")
    (v,) = result(tb2).violations
    assert v.t == 50 and "failed sync_end" in v.message


def test_cadence_minimized_still_counts_as_running():
    tb = up(TraceBuilder())
    tb.app(10, "d1", "minimized")
    tb.sync(300, "d1", "timer")
    (v,) = result(tb).violations
    assert v.t == 0  # minimizing neither cut nor restarted the stretch
    tb2 = up(TraceBuilder())
    tb2.app(10, "d1", "minimized")
    tb2.sync(120, "d1", "timer")
    tb2.app(125, "d1", "restored")
    tb2.sync(240, "d1", "timer")
    assert result(tb2).verdict == "pass"


def test_cadence_sync_in_progress_when_coming_online_starts_clock_at_its_end():
    tb = TraceBuilder()
    tb.app(0, "d1", "opened")
    sid = tb.sync_start(0, "d1", "timer")
    tb.link(10, "d1", "wifi")
    tb.sync_end(50, "d1", sid)
    tb.sync(180, "d1", "timer")  # 130 s after the sync_end, 170 s after coming online
    assert result(tb).verdict == "pass"
    tb.events[-2]["t"] = 180 + EPS  # the next sync_start one step late
    tb.events[-1]["t"] = 181
    (v,) = result(tb).violations
    assert v.t == 50 and sid in v.message


def test_cadence_overlapping_syncs_start_the_clock_at_the_last_end():
    tb = up(TraceBuilder())
    a = tb.sync_start(1, "d1", "timer")
    b = tb.sync_start(2, "d1", "manual")
    tb.sync_end(3, "d1", a).sync_end(100, "d1", b)
    tb.sync(230, "d1", "timer")
    assert result(tb).verdict == "pass"


def test_cadence_devices_are_independent():
    tb = up(up(TraceBuilder()), dev="d2")
    tb.sync(120, "d1", "timer", end=121)
    tb.sync(240, "d1", "timer")
    tb.sync(300, "d2", "timer")
    r = result(tb)
    assert [(v.t, v.dev) for v in r.violations] == [(0, "d2")]


def test_cadence_slow_links_count_as_online():
    tb = up(TraceBuilder(), cls="edge")
    tb.link(50, "d1", "2g")  # a change of class is not a new stretch
    tb.sync(140, "d1", "timer")
    (v,) = result(tb).violations
    assert v.t == 0


def test_cadence_sync_end_while_offline_starts_no_clock():
    tb = up(TraceBuilder())
    sid = tb.sync_start(10, "d1", "timer")
    tb.link(20, "d1", "offline")
    tb.sync_end(30, "d1", sid, ok=False)  # the attempt fails offline
    tb.link(500, "d1", "offline")  # the trace goes on; the device is never back
    r = result(tb)
    assert r.verdict == "pass" and r.judged == 1  # only the first stretch, 0..10


def test_cadence_a_long_sync_is_not_idle_even_when_another_ends():
    tb = up(TraceBuilder())
    a = tb.sync_start(1, "d1", "timer")
    b = tb.sync_start(2, "d1", "manual")
    tb.sync_end(3, "d1", a).sync_end(200, "d1", b)  # b runs for 198 s: never idle
    tb.sync(330, "d1", "timer")
    assert result(tb).verdict == "pass"
