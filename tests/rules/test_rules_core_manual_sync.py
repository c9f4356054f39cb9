"""core.manual_sync: "Every manual event while online and running:
respond(E, manual_s, not strict)."
"""

from __future__ import annotations

import pytest

from bench.testing import TraceBuilder

RULE = "core.manual_sync"
MANUAL_S = 2  # default


def up(tb: TraceBuilder, dev: str = "d1") -> TraceBuilder:
    return tb.link(0, dev, "lte").app(0, dev, "opened")


def result(tb: TraceBuilder, **params):
    return tb.results(**params)[RULE]


@pytest.mark.parametrize("policy", ["planado", "playmaker"])
def test_in_both_policies(policy):
    assert RULE in TraceBuilder(policy).results()


def test_sync_exactly_at_manual_s_passes():
    tb = up(TraceBuilder("playmaker")).manual(10, "d1", via="menu")
    tb.sync(10 + MANUAL_S, "d1", "manual")
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_sync_one_step_late_fails():
    tb = up(TraceBuilder("playmaker")).manual(10, "d1")
    tb.sync(10 + MANUAL_S + 0.001, "d1", "manual")
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (10, "d1")
    assert "manual request at 10" in v.message and "by 12" in v.message


def test_no_sync_at_all_fails():
    tb = up(TraceBuilder("playmaker")).manual(10, "d1").link(60, "d1", "lte")
    assert result(tb).verdict == "fail"


def test_sync_in_progress_answers_it():
    tb = up(TraceBuilder("playmaker"))
    tb.sync(9, "d1", "timer", end=30)
    tb.manual(10, "d1").link(60, "d1", "lte")
    assert result(tb).verdict == "pass"


def test_slow_link_is_still_online():
    tb = TraceBuilder("playmaker").link(0, "d1", "gprs").app(0, "d1", "opened").manual(10, "d1")
    tb.link(60, "d1", "gprs")
    assert result(tb).verdict == "fail"


def test_manual_s_is_a_parameter():
    tb = up(TraceBuilder("playmaker")).manual(10, "d1")
    tb.sync(15, "d1", "manual")
    assert result(tb).verdict == "fail"
    assert result(tb, manual_s=5).verdict == "pass"


def test_every_unanswered_request_is_listed():
    tb = up(up(TraceBuilder("playmaker")), "d2")
    tb.manual(10, "d1").manual(20, "d2").manual(30, "d1").link(60, "d1", "lte")
    r = result(tb)
    assert [(v.t, v.dev) for v in r.violations] == [(10, "d1"), (20, "d2"), (30, "d1")]


@pytest.mark.parametrize("state", [("offline", "opened"), ("wifi", "closed"), ("wifi", None)])
def test_manual_while_not_online_and_running_is_na(state):
    link, app = state
    tb = TraceBuilder("playmaker").link(0, "d1", link)
    if app:
        tb.app(0, "d1", app)
    tb.manual(10, "d1").link(60, "d1", link)
    assert result(tb).verdict == "n/a"


def test_no_manual_is_na():
    tb = up(TraceBuilder("playmaker"))
    tb.sync(5, "d1", "timer")
    assert result(tb).verdict == "n/a"


@pytest.mark.parametrize("cut", ["offline", "closed", "end"])
def test_window_cut_is_not_judged(cut):
    tb = up(TraceBuilder("playmaker")).manual(10, "d1")
    if cut == "offline":
        tb.link(11, "d1", "offline").link(60, "d1", "wifi")
    elif cut == "closed":
        tb.app(11, "d1", "closed").link(60, "d1", "wifi")
    else:
        tb.link(11.9, "d1", "wifi")
    assert result(tb).verdict == "n/a"
