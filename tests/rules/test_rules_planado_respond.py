"""planado.sync_on_open, sync_on_status and push_sync: the respond() rules (rules.md)."""

from __future__ import annotations

import pytest
from rules_helpers import result, tail

from bench.testing import TraceBuilder

OPEN = "planado.sync_on_open"
STATUS = "planado.sync_on_status"
PUSH = "planado.push_sync"
X = 5  # respond_s default
EPS = 1e-6


def online(tb: TraceBuilder, dev: str = "d1", cls: str = "wifi") -> TraceBuilder:
    return tb.link(0, dev, cls)


def trigger(rule: str, tb: TraceBuilder, t: float, dev: str = "d1") -> str:
    """Make the event rule ``rule`` answers at ``t``; return a word its message names."""
    if rule == OPEN:
        tb.app(t, dev, "opened")
        return "app opened"
    if not any(e["ev"] == "app" and e["dev"] == dev for e in tb.events):
        tb.app(0, dev, "opened")  # the rules below judge only a running app
    if rule == STATUS:
        return tb.edit(t, dev, "r1", "status", status="started")
    tb.push(t, dev, "r7")
    return "push for r7"


ALL = [OPEN, STATUS, PUSH]


@pytest.mark.parametrize("rule", ALL)
def test_passes_when_answered_by_a_sync(rule):
    tb = online(TraceBuilder())
    trigger(rule, tb, 10)
    tb.sync(12, "d1", "x")
    r = result(tail(tb), rule)
    assert r.verdict == "pass" and r.judged == 1


@pytest.mark.parametrize("rule", ALL)
def test_fails_without_a_sync_and_names_the_event(rule):
    tb = online(TraceBuilder())
    what = trigger(rule, tb, 10)
    tb.sync(30, "d1", "timer")
    (v,) = result(tail(tb), rule).violations
    assert (v.t, v.dev) == (10, "d1")
    assert what in v.message and "15" in v.message


@pytest.mark.parametrize("rule", ALL)
@pytest.mark.parametrize(("at", "verdict"), [(10 + X, "pass"), (10 + X + EPS, "fail")])
def test_boundary(rule, at, verdict):
    tb = online(TraceBuilder())
    trigger(rule, tb, 10)
    tb.sync(at, "d1", "x")
    assert result(tail(tb), rule).verdict == verdict


@pytest.mark.parametrize("rule", ALL)
def test_sync_at_the_same_t_after_the_event_answers_it(rule):
    tb = online(TraceBuilder())
    trigger(rule, tb, 10)
    tb.sync(10, "d1", "x")
    assert result(tail(tb), rule).verdict == "pass"


@pytest.mark.parametrize("rule", ALL)
def test_na_when_offline(rule):
    tb = TraceBuilder()
    trigger(rule, tb, 10)
    tb.link(11, "d1", "wifi")
    assert result(tail(tb), rule).verdict == "n/a"


@pytest.mark.parametrize("rule", ALL)
def test_slow_link_counts_as_online(rule):
    tb = online(TraceBuilder(), cls="gprs")
    trigger(rule, tb, 10)
    assert result(tail(tb), rule).verdict == "fail"


@pytest.mark.parametrize("rule", ALL)
@pytest.mark.parametrize(("end", "verdict"), [(10 + X - EPS, "n/a"), (10 + X, "fail")])
def test_cut_by_trace_end(rule, end, verdict):
    # A trace ending before s + X cuts the window; one reaching s + X has seen it whole.
    tb = online(TraceBuilder())
    trigger(rule, tb, 10)
    tb.link(end, "d2", "wifi")
    assert result(tb, rule).verdict == verdict


@pytest.mark.parametrize("rule", ALL)
@pytest.mark.parametrize(("down", "verdict"), [(12, "n/a"), (10 + X + 1, "fail")])
def test_cut_by_going_offline(rule, down, verdict):
    tb = online(TraceBuilder())
    trigger(rule, tb, 10)
    tb.link(down, "d1", "offline")
    assert result(tail(tb), rule).verdict == verdict


@pytest.mark.parametrize("rule", ALL)
def test_cut_by_closing_the_app(rule):
    tb = online(TraceBuilder())
    trigger(rule, tb, 10)
    tb.app(12, "d1", "closed")
    assert result(tail(tb), rule).verdict == "n/a"


@pytest.mark.parametrize("rule", ALL)
def test_minimizing_does_not_cut(rule):
    tb = online(TraceBuilder())
    trigger(rule, tb, 10)
    tb.app(12, "d1", "minimized")
    assert result(tail(tb), rule).verdict == "fail"


@pytest.mark.parametrize("rule", ALL)
def test_every_instance_is_listed(rule):
    tb = online(TraceBuilder())
    trigger(rule, tb, 10)
    tb.sync(12, "d1", "x")
    trigger(rule, tb, 100)
    trigger(rule, tb, 200)
    r = result(tail(tb), rule)
    assert [v.t for v in r.violations] == [100, 200] and r.judged == 3


@pytest.mark.parametrize("rule", ALL)
def test_devices_are_independent(rule):
    tb = online(online(TraceBuilder()), dev="d2")
    trigger(rule, tb, 10, dev="d1")
    tb.app(0, "d2", "opened")
    tb.sync(1, "d2", "open")
    tb.sync(12, "d2", "x")
    (v,) = result(tail(tb), rule).violations
    assert v.dev == "d1"


@pytest.mark.parametrize("rule", ALL)
def test_respond_s_parameter(rule):
    tb = online(TraceBuilder())
    trigger(rule, tb, 10)
    tb.sync(18, "d1", "x")
    assert result(tail(tb), rule).verdict == "fail"
    assert result(tail(tb), rule, respond_s=8).verdict == "pass"


# -- strict and not strict: a sync in progress at E ------------------------------------------


def test_open_not_strict_sync_in_progress_satisfies():
    tb = online(TraceBuilder())
    sid = tb.sync_start(9, "d1", "timer")
    tb.app(10, "d1", "opened")
    tb.sync_end(100, "d1", sid)
    r = result(tail(tb), OPEN)
    assert r.verdict == "pass" and r.judged == 1


@pytest.mark.parametrize("rule", [STATUS, PUSH])
@pytest.mark.parametrize(("at", "verdict"), [(50 + X, "pass"), (50 + X + EPS, "fail")])
def test_strict_sync_in_progress_moves_s_to_its_end(rule, at, verdict):
    tb = online(TraceBuilder())
    tb.app(0, "d1", "opened")
    sid = tb.sync_start(9, "d1", "timer")
    trigger(rule, tb, 10)
    tb.sync_end(50, "d1", sid)
    tb.sync(at, "d1", "x")
    r = result(tail(tb), rule)
    assert r.verdict == verdict
    if verdict == "fail":
        assert r.violations[0].t == 10 and "55" in r.violations[0].message


@pytest.mark.parametrize("rule", [STATUS, PUSH])
def test_strict_new_sync_during_the_one_in_progress_satisfies(rule):
    tb = online(TraceBuilder())
    tb.app(0, "d1", "opened")
    sid = tb.sync_start(9, "d1", "timer")
    trigger(rule, tb, 10)
    tb.sync(11, "d1", "x")
    tb.sync_end(50, "d1", sid)
    assert result(tail(tb), rule).verdict == "pass"


@pytest.mark.parametrize("rule", [STATUS, PUSH])
def test_strict_waiting_instance_cut_by_going_offline(rule):
    tb = online(TraceBuilder())
    tb.app(0, "d1", "opened")
    sid = tb.sync_start(9, "d1", "timer")
    trigger(rule, tb, 10)
    tb.link(30, "d1", "offline")
    tb.sync_end(50, "d1", sid)
    assert result(tail(tb), rule).verdict == "n/a"


# -- what each rule answers ------------------------------------------------------------------


def test_open_restored_counts_and_minimized_does_not():
    tb = online(TraceBuilder())
    tb.app(0, "d1", "opened").sync(1, "d1", "open")
    tb.app(10, "d1", "minimized")
    tb.app(20, "d1", "restored")
    (v,) = result(tail(tb), OPEN).violations
    assert v.t == 20 and "app restored" in v.message


def test_open_while_offline_not_judged_even_if_online_soon_after():
    tb = TraceBuilder()
    tb.app(10, "d1", "opened").link(11, "d1", "wifi")
    assert result(tail(tb), OPEN).verdict == "n/a"


def test_status_only_status_edits_count():
    tb = online(TraceBuilder())
    tb.app(0, "d1", "opened")
    tb.edit(10, "d1", "r1", "text")
    tb.edit(11, "d1", "r1", "photo")
    assert result(tail(tb), STATUS).verdict == "n/a"


def test_status_edit_while_app_closed_not_judged():
    tb = online(TraceBuilder())
    tb.edit(10, "d1", "r1", "status")
    assert result(tail(tb), STATUS).verdict == "n/a"


def test_push_while_app_closed_not_judged():
    tb = online(TraceBuilder())
    tb.push(10, "d1", "r1")
    assert result(tail(tb), PUSH).verdict == "n/a"


def test_push_while_minimized_is_judged():
    tb = online(TraceBuilder())
    tb.app(0, "d1", "opened").app(5, "d1", "minimized")
    tb.push(10, "d1", "r1")
    (v,) = result(tail(tb), PUSH).violations
    assert v.t == 10
