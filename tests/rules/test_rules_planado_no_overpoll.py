"""planado.no_overpoll on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import up

from bench.testing import TraceBuilder

CADENCE = "planado.cadence"
OVERPOLL = "planado.no_overpoll"
EPS = 1e-6  # one step: the writer keeps microseconds

def result(tb: TraceBuilder, rule: str = CADENCE, **params):
    return tb.results(**params)[rule]

MIN_GAP = 110  # interval_s - cadence_tol_s

def timers(*starts: float, dev: str = "d1", tb: TraceBuilder | None = None) -> TraceBuilder:
    tb = tb or up(TraceBuilder(), dev=dev)
    for t in starts:
        tb.sync(t, dev, "timer", end=t + 0.5)
    return tb


def test_overpoll_passes_at_two_minutes():
    r = result(timers(1, 121, 241), OVERPOLL)
    assert r.verdict == "pass" and r.judged == 2


@pytest.mark.parametrize(("gap", "verdict"), [(MIN_GAP, "pass"), (MIN_GAP - EPS, "fail")])
def test_overpoll_boundary(gap, verdict):
    assert result(timers(5, 5 + gap), OVERPOLL).verdict == verdict


def test_overpoll_violation_names_both_syncs():
    (v,) = result(timers(10, 70), OVERPOLL).violations
    assert (v.t, v.dev) == (70, "d1")
    assert "70" in v.message and "10" in v.message and "60" in v.message


def test_overpoll_lists_every_violation():
    r = result(timers(0, 50, 100, 300, 310), OVERPOLL)
    assert [v.t for v in r.violations] == [50, 100, 310]
    assert r.judged == 4


def test_overpoll_na_without_two_timer_syncs():
    tb = up(TraceBuilder())
    tb.sync(1, "d1", "timer")
    for t in (3, 5, 7):
        tb.sync(t, "d1", "manual")  # only timer syncs are judged
    assert result(tb, OVERPOLL).verdict == "n/a"


def test_overpoll_ignores_other_triggers_between_timers():
    tb = up(TraceBuilder())
    tb.sync(0, "d1", "timer")
    tb.sync(10, "d1", "push")
    tb.sync(115, "d1", "timer")
    assert result(tb, OVERPOLL).verdict == "pass"


def test_overpoll_is_per_device():
    tb = timers(0, 120, dev="d1")
    timers(60, 180, dev="d2", tb=up(tb, dev="d2"))
    assert result(tb, OVERPOLL).verdict == "pass"
