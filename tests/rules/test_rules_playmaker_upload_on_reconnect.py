"""playmaker.upload_on_reconnect: "every edit made while offline is acked within
save_ack_s after the device is next online and running, when it stays so that long."
"""

from __future__ import annotations

import pytest

from bench.testing import TraceBuilder

RULE = "playmaker.upload_on_reconnect"
ACK_S = 30  # save_ack_s default


def offline_edit(tb: TraceBuilder | None = None, dev: str = "d1", t: float = 5) -> tuple[TraceBuilder, str]:
    tb = tb or TraceBuilder("playmaker")
    tb.link(0, dev, "offline").app(0, dev, "opened")
    return tb, tb.edit(t, dev, "r1")


def result(tb: TraceBuilder, **params):
    return tb.results(**params)[RULE]


def test_ack_exactly_at_the_limit_passes():
    tb, c = offline_edit()
    tb.link(10, "d1", "edge").ack(10 + ACK_S, "d1", c)
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_ack_one_step_late_fails():
    tb, c = offline_edit()
    tb.link(10, "d1", "edge").ack(10 + ACK_S + 0.001, "d1", c)
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (10, "d1")
    assert c in v.message and "saved offline at 5" in v.message
    assert "online and running again at 10" in v.message and "by 40" in v.message


def test_never_acked_fails():
    tb, c = offline_edit()
    tb.link(10, "d1", "wifi").link(100, "d1", "wifi")
    assert result(tb).verdict == "fail"


def test_the_clock_starts_when_online_and_running():
    # Back online with the app closed: the window opens when the app does.
    tb = TraceBuilder("playmaker").link(0, "d1", "offline").app(0, "d1", "opened")
    c = tb.edit(5, "d1", "r1")
    tb.app(6, "d1", "closed").link(10, "d1", "wifi").app(50, "d1", "opened")
    tb.ack(50 + ACK_S, "d1", c)
    assert result(tb).verdict == "pass"


def test_acked_before_the_device_is_next_up_passes():
    tb = TraceBuilder("playmaker").link(0, "d1", "offline").app(0, "d1", "opened")
    c = tb.edit(5, "d1", "r1")
    tb.app(6, "d1", "closed").link(10, "d1", "wifi").ack(12, "d1", c).link(200, "d1", "wifi")
    assert result(tb).verdict == "pass"


def test_every_late_edit_is_listed():
    tb, c1 = offline_edit()
    c2 = tb.edit(6, "d1", "r2")
    offline_edit(tb, "d2")
    tb.link(10, "d1", "wifi").link(20, "d2", "wifi").ack(11, "d1", c1).link(100, "d1", "wifi")
    r = result(tb)
    assert [(v.dev, c2 in v.message) for v in r.violations] == [("d1", True), ("d2", False)]
    assert r.judged == 3


def test_edits_made_online_are_not_judged():
    tb = TraceBuilder("playmaker").link(0, "d1", "wifi").app(0, "d1", "opened")
    tb.edit(5, "d1", "r1")
    tb.link(100, "d1", "wifi")
    assert result(tb).verdict == "n/a"


@pytest.mark.parametrize("cut", ["offline", "closed"])
def test_cut_before_the_deadline_is_not_judged_even_later(cut):
    # "when it stays so that long": cut, and the next up is no longer "next".
    tb, c = offline_edit()
    tb.link(10, "d1", "wifi")
    if cut == "offline":
        tb.link(20, "d1", "offline").link(30, "d1", "wifi")
    else:
        tb.app(20, "d1", "closed").app(30, "d1", "opened")
    tb.link(200, "d1", "wifi")
    assert result(tb).verdict == "n/a"


def test_trace_ending_before_the_deadline_is_not_judged():
    tb, c = offline_edit()
    tb.link(10, "d1", "wifi").link(10 + ACK_S - 0.001, "d1", "wifi")
    assert result(tb).verdict == "n/a"


def test_trace_ending_at_the_deadline_judges_it():
    tb, c = offline_edit()
    tb.link(10, "d1", "wifi").link(10 + ACK_S, "d1", "wifi")
    assert result(tb).verdict == "fail"


def test_trace_ending_offline_is_not_judged():
    tb, c = offline_edit()
    tb.link(500, "d1", "offline")
    assert result(tb).verdict == "n/a"


def test_save_ack_s_is_a_parameter():
    tb, c = offline_edit()
    tb.link(10, "d1", "wifi").ack(50, "d1", c)
    assert result(tb).verdict == "fail"
    assert result(tb, save_ack_s=40).verdict == "pass"


def test_edits_made_online_with_the_app_closed_are_not_judged():
    # "every edit made while offline": online with the app closed is not offline.
    tb = TraceBuilder("playmaker").link(0, "d1", "wifi").app(0, "d1", "closed")
    tb.edit(5, "d1", "r1")
    tb.app(10, "d1", "opened").link(100, "d1", "wifi")
    assert result(tb).verdict == "n/a"
