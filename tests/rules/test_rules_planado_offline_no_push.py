"""planado.offline_no_push on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

OFFLINE = "planado.offline_no_push"






def test_offline_passes_on_any_online_class():
    tb = TraceBuilder()
    for k, cls in enumerate(["2g", "edge", "lte", "wifi"]):
        tb.link(10 * k, "d1", cls).push(10 * k + 1, "d1", "r1")
    r = result(tail(tb), OFFLINE)
    assert r.verdict == "pass" and r.judged == 4


def test_offline_fails_and_lists_every_push():
    tb = up(TraceBuilder())
    tb.link(10, "d1", "offline")
    tb.push(11, "d1", "r1").push(12, "d1", "r2")
    r = result(tail(tb), OFFLINE)
    assert [(v.t, v.dev) for v in r.violations] == [(11, "d1"), (12, "d1")]
    assert "r1" in r.violations[0].message and "offline" in r.violations[0].message


def test_offline_before_any_link_event_is_offline():
    tb = TraceBuilder()
    tb.push(1, "d1", "r1").link(2, "d1", "wifi")
    assert result(tail(tb), OFFLINE).verdict == "fail"


def test_offline_push_at_the_same_t_as_going_online_after_it_passes():
    tb = TraceBuilder()
    tb.link(5, "d1", "wifi").push(5, "d1", "r1")
    assert result(tail(tb), OFFLINE).verdict == "pass"
    tb2 = TraceBuilder()
    tb2.push(5, "d1", "r1").link(5, "d1", "wifi")  # file order: the push came first
    assert result(tail(tb2), OFFLINE).verdict == "fail"


def test_offline_na_without_push_and_app_state_irrelevant():
    tb = up(TraceBuilder())
    tb.srv_push(5, "d1", "r1")
    assert result(tail(tb), OFFLINE).verdict == "n/a"
    tb.app(6, "d1", "closed").push(7, "d1", "r1")  # closed but online: allowed
    assert result(tail(tb), OFFLINE).verdict == "pass"
