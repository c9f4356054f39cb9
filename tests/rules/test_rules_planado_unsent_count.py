"""planado.unsent_count on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import result, up

from bench.testing import TraceBuilder

UNSENT = "planado.unsent_count"
LAST = "planado.last_sync_time"
LAG = 1  # display_lag_s default
EPS = 1e-6

def tail(tb: TraceBuilder, t: float = 100) -> TraceBuilder:
    """An unrelated event long after, so no window is cut by the trace end."""
    return tb.link(t, "zz", "offline")


def test_unsent_passes_when_counter_follows_edits_and_acks():
    tb = up(TraceBuilder())
    c1 = tb.edit(10, "d1", "r1")
    tb.unsent(10.2, "d1", 1)
    c2 = tb.edit(20, "d1", "r2", "status")
    tb.unsent(20.5, "d1", 2)
    tb.ack(30, "d1", c1).unsent(30, "d1", 1)
    tb.ack(40, "d1", c2).unsent(40.9, "d1", 0)
    r = result(tail(tb), UNSENT)
    assert r.verdict == "pass" and r.judged >= 4


def test_unsent_fails_when_counter_is_not_updated():
    tb = up(TraceBuilder())
    c1 = tb.edit(10, "d1", "r1")
    tb.unsent(15, "d1", 1)
    r = result(tail(tb), UNSENT)
    (v,) = r.violations
    assert (v.t, v.dev) == (11, "d1")  # the moment the lag ran out
    assert "unsent shows 0" in v.message and "1 changes" in v.message and c1 in v.message


def test_unsent_fails_when_counter_shows_a_wrong_number():
    tb = up(TraceBuilder())
    tb.unsent(5, "d1", 3)  # nothing changed: no grace at all
    tb.unsent(5.5, "d1", 0)
    (v,) = result(tail(tb), UNSENT).violations
    assert (v.t, v.dev) == (5, "d1") and "unsent shows 3 but 0" in v.message


def test_unsent_fails_when_ack_not_reflected():
    tb = up(TraceBuilder())
    c1 = tb.edit(10, "d1", "r1")
    tb.unsent(10, "d1", 1)
    tb.ack(20, "d1", c1)
    (v,) = result(tail(tb), UNSENT).violations
    assert v.t == 21 and "unsent shows 1 but 0" in v.message


def test_unsent_na_when_app_never_runs():
    tb = TraceBuilder()
    tb.link(0, "d1", "wifi")
    tb.edit(1, "d1", "r1")
    tb.unsent(50, "d1", 7)
    assert result(tail(tb), UNSENT).verdict == "n/a"


@pytest.mark.parametrize(("at", "verdict"), [(10 + LAG, "pass"), (10 + LAG + EPS, "fail")])
def test_unsent_lag_boundary(at, verdict):
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.unsent(at, "d1", 1)
    assert result(tail(tb), UNSENT).verdict == verdict


def test_unsent_lag_follows_param():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.unsent(12.5, "d1", 1)
    assert result(tail(tb), UNSENT).verdict == "fail"
    assert result(tail(tb), UNSENT, display_lag_s=2.5).verdict == "pass"


def test_unsent_grace_restarts_at_each_change():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.edit(10.8, "d1", "r2")
    tb.unsent(11.8, "d1", 2)  # 1.8 s after the first change, 1 s after the last
    assert result(tail(tb), UNSENT).verdict == "pass"


def test_unsent_ack_of_unknown_change_does_not_extend_grace():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.ack(10.5, "d1", "not-a-change")  # the true number does not change
    tb.unsent(11.4, "d1", 1)
    (v,) = result(tail(tb), UNSENT).violations
    assert v.t == 11


@pytest.mark.parametrize(("at", "verdict"), [(20 + LAG, "pass"), (20 + LAG + EPS, "fail")])
def test_unsent_app_start_grace(at, verdict):
    tb = TraceBuilder()
    tb.link(0, "d1", "wifi")
    tb.edit(1, "d1", "r1", "photo")  # made while the app was closed
    tb.edit(2, "d1", "r2")
    tb.app(20, "d1", "opened")
    tb.unsent(at, "d1", 2)
    r = result(tail(tb), UNSENT)
    assert r.verdict == verdict
    if verdict == "fail":
        assert r.violations[0].t == 21


def test_unsent_app_start_grace_at_time_zero():
    # The grace after the app starts ends display_lag_s after the start, also at t=0.
    tb = up(TraceBuilder())
    tb.unsent(5, "d1", 2)
    tb.unsent(5.9, "d1", 0)
    (v,) = result(tail(tb), UNSENT).violations
    assert v.t == 5


def test_unsent_mismatch_corrected_at_same_t_never_fails():
    tb = up(TraceBuilder())
    tb.unsent(30, "d1", 4).unsent(30, "d1", 0)
    c = tb.edit(40, "d1", "r1")
    tb.unsent(40, "d1", 1)
    tb.ack(60, "d1", c).unsent(60, "d1", 0)
    assert result(tail(tb), UNSENT).verdict == "pass"


def test_unsent_photos_count_as_unsent():
    tb = up(TraceBuilder())
    p = tb.edit(10, "d1", "r1", "photo", bytes=2_000_000)
    tb.unsent(10.5, "d1", 1)
    tb.file_start(11, "d1", p).file_end(20, "d1", p)
    tb.ack(21, "d1", p).unsent(21.5, "d1", 0)
    assert result(tail(tb), UNSENT).verdict == "pass"
    tb2 = up(TraceBuilder())
    tb2.edit(10, "d1", "r1", "photo")
    tb2.edit(11, "d1", "r1", "text")
    tb2.unsent(11.5, "d1", 1)  # counted only the text edit
    (v,) = result(tail(tb2), UNSENT).violations
    assert "unsent shows 1 but 2" in v.message


def test_unsent_closing_the_app_cuts_the_mismatch():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.app(10.5, "d1", "closed")
    tb.app(50, "d1", "opened").unsent(50.5, "d1", 1)
    assert result(tail(tb), UNSENT).verdict == "pass"


def test_unsent_mismatch_while_closed_is_not_judged():
    tb = TraceBuilder()
    tb.link(0, "d1", "wifi")
    tb.edit(1, "d1", "r1")
    tb.unsent(2, "d1", 5)
    tb.app(3, "d1", "opened")
    tb.unsent(4, "d1", 1)  # 1 s after the app started
    assert result(tail(tb), UNSENT).verdict == "pass"


def test_unsent_minimized_still_judged():
    tb = up(TraceBuilder())
    tb.app(5, "d1", "minimized")
    tb.edit(10, "d1", "r1")
    (v,) = result(tail(tb), UNSENT).violations
    assert v.t == 11


def test_unsent_cut_by_trace_end():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.link(11, "d1", "lte")  # last event exactly when the grace ends
    assert result(tb, UNSENT).verdict == "n/a"


def test_unsent_one_violation_per_mismatch_stretch_and_every_stretch():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.edit(20, "d1", "r2")  # still wrong: same stretch
    tb.unsent(30, "d1", 2)
    tb.edit(40, "d1", "r3")  # a second stretch
    r = result(tail(tb), UNSENT)
    assert [v.t for v in r.violations] == [11, 41]


def test_unsent_devices_are_independent():
    tb = up(up(TraceBuilder()), dev="d2")
    tb.edit(10, "d1", "r1")
    tb.unsent(10.5, "d2", 1)  # the wrong device shows it
    r = result(tail(tb), UNSENT)
    assert sorted((v.t, v.dev) for v in r.violations) == [(10.5, "d2"), (11, "d1")]


def test_display_rules_are_judged_offline_too():
    # "while running": going offline is no excuse for a wrong display.
    tb = up(TraceBuilder())
    tb.sync(5, "d1", "open", end=6)
    tb.link(6, "d1", "offline")
    tb.edit(10, "d1", "r1")
    r = tail(tb).results()
    assert [v.t for v in r[UNSENT].violations] == [11]
    assert [v.t for v in r[LAST].violations] == [7]


def test_unsent_message_lists_the_unsent_changes():
    tb = up(TraceBuilder())
    cs = [tb.edit(10, "d1", f"r{k}") for k in range(4)]
    (v,) = result(tail(tb), UNSENT).violations
    assert v.message == f"unsent shows 0 but 4 changes are unsent ({', '.join(cs[:3])}, ...) (mismatch since 10)"
    tb2 = up(TraceBuilder())
    cs = [tb2.edit(10, "d1", f"r{k}") for k in range(3)]
    (v,) = result(tail(tb2), UNSENT).violations
    assert v.message == f"unsent shows 0 but 3 changes are unsent ({', '.join(cs)}) (mismatch since 10)"
