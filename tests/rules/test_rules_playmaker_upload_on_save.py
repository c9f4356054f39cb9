"""playmaker.upload_on_save: "every text/status edit while online and running:
respond(E, save_sync_s, strict), and, if the device stays online and running to
t + save_ack_s, an ack of it by then."
"""

from __future__ import annotations

import pytest

from bench.testing import TraceBuilder

RULE = "playmaker.upload_on_save"
SYNC_S, ACK_S = 2, 30  # save_sync_s, save_ack_s defaults


def up(tb: TraceBuilder, dev: str = "d1") -> TraceBuilder:
    return tb.link(0, dev, "3g").app(0, dev, "opened")


def result(tb: TraceBuilder, **params):
    return tb.results(**params)[RULE]


def saved(tb: TraceBuilder, t: float = 10, kind: str = "text", *, sync_at: float | None = None,
          ack_at: float | None = None, dev: str = "d1") -> str:
    c = tb.edit(t, dev, "r1", kind)
    if sync_at is not None:
        tb.sync(sync_at, dev, "save", end=sync_at + 0.5)
    if ack_at is not None:
        tb.ack(ack_at, dev, c)
    return c


@pytest.mark.parametrize("kind", ["text", "status"])
def test_sync_and_ack_at_the_limits_pass(kind):
    tb = up(TraceBuilder("playmaker"))
    saved(tb, 10, kind, sync_at=10 + SYNC_S, ack_at=10 + ACK_S)
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 2)


def test_sync_one_step_late_fails():
    tb = up(TraceBuilder("playmaker"))
    c = saved(tb, 10, sync_at=10 + SYNC_S + 0.001, ack_at=13)
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (10, "d1")
    assert f"save of {c} at 10" in v.message and "no sync_start by 12" in v.message


def test_ack_one_step_late_fails():
    tb = up(TraceBuilder("playmaker"))
    c = saved(tb, 10, sync_at=11, ack_at=10 + ACK_S + 0.001)
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (10, "d1")
    assert c in v.message and "not acked by 40" in v.message


def test_no_sync_and_no_ack_are_two_violations():
    tb = up(TraceBuilder("playmaker"))
    saved(tb, 10)
    tb.link(100, "d1", "3g")
    r = result(tb)
    assert len(r.violations) == 2
    assert {("sync_start" in v.message) for v in r.violations} == {True, False}


def test_strict_sync_in_progress_moves_s_to_its_end():
    tb = up(TraceBuilder("playmaker"))
    tb.sync(9, "d1", "timer", end=20)
    c = saved(tb, 10)
    tb.sync(20 + SYNC_S, "d1", "save")
    tb.ack(23, "d1", c)
    assert result(tb).verdict == "pass"


def test_strict_sync_in_progress_is_not_an_answer():
    tb = up(TraceBuilder("playmaker"))
    tb.sync(9, "d1", "timer", end=20)
    c = saved(tb, 10)
    tb.ack(15, "d1", c).link(100, "d1", "3g")
    (v,) = result(tb).violations
    assert "by 22" in v.message


def test_every_save_is_listed():
    tb = up(up(TraceBuilder("playmaker")), "d2")
    saved(tb, 10, ack_at=11)
    saved(tb, 12, dev="d2", ack_at=13)
    saved(tb, 50, ack_at=51)
    tb.link(100, "d1", "3g")
    r = result(tb)
    assert [(v.t, v.dev) for v in r.violations] == [(10, "d1"), (12, "d2"), (50, "d1")]


def test_photo_edits_are_not_judged():
    tb = up(TraceBuilder("playmaker"))
    saved(tb, 10, "photo")
    tb.link(100, "d1", "3g")
    assert result(tb).verdict == "n/a"


@pytest.mark.parametrize("state", [("offline", "opened"), ("wifi", "closed")])
def test_edit_while_not_online_and_running_is_na(state):
    link, app = state
    tb = TraceBuilder("playmaker").link(0, "d1", link).app(0, "d1", app)
    saved(tb, 10)
    tb.link(100, "d1", link)
    assert result(tb).verdict == "n/a"


@pytest.mark.parametrize("cut", ["offline", "closed"])
def test_cut_before_the_sync_deadline_judges_nothing(cut):
    tb = up(TraceBuilder("playmaker"))
    saved(tb, 10)
    if cut == "offline":
        tb.link(11, "d1", "offline")
    else:
        tb.app(11, "d1", "closed")
    tb.link(100, "d1", "wifi")
    assert result(tb).verdict == "n/a"


@pytest.mark.parametrize("cut", ["offline", "closed"])
def test_cut_before_the_ack_deadline_judges_the_sync_only(cut):
    tb = up(TraceBuilder("playmaker"))
    saved(tb, 10, sync_at=11)
    if cut == "offline":
        tb.link(20, "d1", "offline")
    else:
        tb.app(20, "d1", "closed")
    tb.link(100, "d1", "wifi")
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_trace_ending_before_the_ack_deadline_is_not_judged():
    tb = up(TraceBuilder("playmaker"))
    saved(tb, 10, sync_at=11)
    tb.link(10 + ACK_S - 0.001, "d1", "3g")
    assert result(tb).judged == 1


def test_trace_ending_at_the_ack_deadline_judges_it():
    tb = up(TraceBuilder("playmaker"))
    saved(tb, 10, sync_at=11)
    tb.link(10 + ACK_S, "d1", "3g")
    assert result(tb).verdict == "fail"


def test_parameters_apply():
    tb = up(TraceBuilder("playmaker"))
    saved(tb, 10, sync_at=14, ack_at=50)
    assert len(result(tb).violations) == 2
    assert result(tb, save_sync_s=4, save_ack_s=40).verdict == "pass"
