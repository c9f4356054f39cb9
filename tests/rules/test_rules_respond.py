"""respond(E, X, strict) in isolation (rules.md, "Shared definitions").

Two probe rules, registered for the test only, open one respond() instance per
``manual`` event: one strict, one not. X = 5 s throughout.
"""

from __future__ import annotations

import pytest

from bench.rules import REGISTRY, Checker, Policy
from bench.rules.respond import RespondRule
from bench.testing import TraceBuilder

X = 5


class _Strict(RespondRule):
    id = "test.respond_strict"
    title = "probe"
    statement = "every manual: respond(E, respond_s, strict)"
    params = ("respond_s",)
    respond_param = "respond_s"
    strict = True

    def on_manual(self, ev, ds) -> None:
        self.respond.open(ev["t"], ds, "probe")


class _Lenient(_Strict):
    id = "test.respond_lenient"
    strict = False


@pytest.fixture(autouse=True)
def _probes(monkeypatch):
    monkeypatch.setitem(REGISTRY, _Strict.id, _Strict)
    monkeypatch.setitem(REGISTRY, _Lenient.id, _Lenient)


def run(tb: TraceBuilder, rule: str):
    checker = Checker(Policy(name="probe", rules=(rule,)), meta=tb.meta, params={"respond_s": X})
    checker.feed_all(tb.sorted_events())
    (result,) = checker.finish()
    return result


def up(tb: TraceBuilder, dev: str = "d1", t: float = 0) -> TraceBuilder:
    return tb.link(t, dev, "wifi").app(t, dev, "opened")


BOTH = pytest.mark.parametrize("rule", [_Strict.id, _Lenient.id])


# -- no sync in progress at E: s = t_E ----------------------------------------------
@BOTH
def test_sync_start_exactly_at_s_plus_x_passes(rule):
    tb = up(TraceBuilder(None)).manual(10, "d1")
    tb.sync(10 + X, "d1", "manual")
    r = run(tb, rule)
    assert (r.verdict, r.judged) == ("pass", 1)


@BOTH
def test_sync_start_just_after_s_plus_x_fails(rule):
    tb = up(TraceBuilder(None)).manual(10, "d1")
    tb.sync(10 + X + 0.001, "d1", "manual")
    r = run(tb, rule)
    assert r.verdict == "fail"
    (v,) = r.violations
    assert (v.t, v.dev) == (10, "d1")
    assert "probe at 10" in v.message and "no sync_start by 15" in v.message


@BOTH
def test_sync_start_before_e_in_file_order_does_not_count(rule):
    # "a sync_start comes after E": same t, but earlier in the file.
    tb = up(TraceBuilder(None))
    sid = tb.sync_start(10, "d1", "timer")
    tb.sync_end(10, "d1", sid)
    tb.manual(10, "d1").link(20, "d1", "wifi")
    assert run(tb, rule).verdict == "fail"


@BOTH
def test_every_instance_is_listed(rule):
    tb = up(TraceBuilder(None))
    up(tb, "d2")
    tb.manual(10, "d1").manual(30, "d1").manual(12, "d2")
    tb.sync(13, "d2", "manual")
    tb.link(60, "d1", "wifi")
    r = run(tb, rule)
    assert [(v.t, v.dev) for v in r.violations] == [(10, "d1"), (30, "d1")]
    assert r.judged == 3


# -- a sync in progress at E ---------------------------------------------------------
def _busy(tb: TraceBuilder, start: float = 8, end: float = 20) -> str:
    sid = tb.sync_start(start, "d1", "timer")
    tb.sync_end(end, "d1", sid)
    return sid


def test_not_strict_sync_in_progress_satisfies():
    tb = up(TraceBuilder(None))
    _busy(tb)
    tb.manual(10, "d1").link(100, "d1", "wifi")
    r = run(tb, _Lenient.id)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_strict_s_moves_to_sync_end_boundary_passes():
    tb = up(TraceBuilder(None))
    _busy(tb, end=20)
    tb.manual(10, "d1")
    tb.sync(20 + X, "d1", "manual")
    assert run(tb, _Strict.id).verdict == "pass"


def test_strict_s_moves_to_sync_end_just_after_fails():
    tb = up(TraceBuilder(None))
    sid = _busy(tb, end=20)
    tb.manual(10, "d1")
    tb.sync(20 + X + 0.001, "d1", "manual")
    r = run(tb, _Strict.id)
    (v,) = r.violations
    assert (v.t, v.dev) == (10, "d1")
    assert "by 25" in v.message and sid in v.message and "ended at 20" in v.message


def test_strict_sync_in_progress_is_not_an_answer():
    tb = up(TraceBuilder(None))
    _busy(tb, end=20)
    tb.manual(10, "d1").link(100, "d1", "wifi")
    assert run(tb, _Strict.id).verdict == "fail"


def test_strict_new_sync_during_the_busy_one_satisfies():
    tb = up(TraceBuilder(None))
    _busy(tb, end=20)
    tb.manual(10, "d1")
    tb.sync(12, "d1", "manual", end=13)
    tb.link(100, "d1", "wifi")
    assert run(tb, _Strict.id).verdict == "pass"


def test_strict_two_syncs_in_progress_s_is_the_later_end():
    tb = up(TraceBuilder(None))
    a = tb.sync_start(8, "d1", "timer")
    b = tb.sync_start(9, "d1", "push")
    tb.manual(10, "d1")
    tb.sync_end(15, "d1", a).sync_end(20, "d1", b)
    tb.sync(24, "d1", "manual")  # within 20 + 5, not within 15 + 5
    assert run(tb, _Strict.id).verdict == "pass"


def test_strict_sync_never_ends_is_not_judged():
    tb = up(TraceBuilder(None))
    tb.sync_start(8, "d1", "timer")
    tb.manual(10, "d1").link(100, "d1", "wifi")
    assert run(tb, _Strict.id).verdict == "n/a"


# -- "judged only if online and running from t_E to s + X" -----------------------------
@BOTH
@pytest.mark.parametrize("cut", ["offline", "closed"])
def test_cut_before_deadline_is_not_judged(rule, cut):
    tb = up(TraceBuilder(None)).manual(10, "d1")
    if cut == "offline":
        tb.link(12, "d1", "offline")
    else:
        tb.app(12, "d1", "closed")
    tb.link(40, "d1", "wifi").app(40, "d1", "opened")
    assert run(tb, rule).verdict == "n/a"


@BOTH
def test_offline_exactly_at_deadline_cuts(rule):
    # "from t_E to s + X" includes s + X: offline at it means not online throughout.
    tb = up(TraceBuilder(None)).manual(10, "d1").link(15, "d1", "offline").link(40, "d1", "wifi")
    assert run(tb, rule).verdict == "n/a"


@BOTH
def test_minimized_is_still_running(rule):
    tb = up(TraceBuilder(None)).manual(10, "d1").app(11, "d1", "minimized").link(40, "d1", "wifi")
    assert run(tb, rule).verdict == "fail"


@pytest.mark.parametrize("cut", ["offline", "closed"])
def test_strict_waiting_instance_cut_during_the_busy_sync(cut):
    tb = up(TraceBuilder(None))
    _busy(tb, end=20)
    tb.manual(10, "d1")
    if cut == "offline":
        tb.link(15, "d1", "offline").link(16, "d1", "wifi")
    else:
        tb.app(15, "d1", "closed").app(16, "d1", "opened")
    tb.link(100, "d1", "wifi")
    assert run(tb, _Strict.id).verdict == "n/a"


@BOTH
def test_satisfied_then_cut_passes(rule):
    tb = up(TraceBuilder(None)).manual(10, "d1")
    tb.sync(11, "d1", "manual")
    tb.link(12, "d1", "offline")
    assert run(tb, rule).verdict == "pass"


@BOTH
@pytest.mark.parametrize("state", [("offline", "opened"), ("wifi", "closed")])
def test_event_while_not_online_and_running_is_not_judged(rule, state):
    link, app = state
    tb = TraceBuilder(None).link(0, "d1", link).app(0, "d1", app).manual(10, "d1").link(40, "d1", link)
    assert run(tb, rule).verdict == "n/a"


@BOTH
def test_other_device_going_offline_does_not_cut(rule):
    tb = up(up(TraceBuilder(None)), "d2").manual(10, "d1").link(12, "d2", "offline").link(40, "d1", "wifi")
    r = run(tb, rule)
    assert r.verdict == "fail" and r.violations[0].dev == "d1"


# -- cut by the end of the trace ------------------------------------------------------
@BOTH
def test_trace_ending_before_deadline_is_not_judged(rule):
    tb = up(TraceBuilder(None)).manual(10, "d1").link(14.9, "d1", "wifi")
    assert run(tb, rule).verdict == "n/a"


@BOTH
def test_trace_ending_exactly_at_deadline_judges(rule):
    # The window [t_E, t_E + X] has been seen whole: not "cut short".
    tb = up(TraceBuilder(None)).manual(10, "d1").link(15, "d1", "wifi")
    assert run(tb, rule).verdict == "fail"


def test_unknown_kind_does_not_extend_the_trace():
    # "The end of the trace is the t of its last event of a known kind."
    tb = up(TraceBuilder(None)).manual(10, "d1").add("custom_thing", 60, "d1")
    assert run(tb, _Strict.id).verdict == "n/a"
