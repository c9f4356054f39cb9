"""planado.text_flows on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

FLOWS = "planado.text_flows"
ACK = 160  # text_ack_s
EPS = 1e-6


def test_flows_passes_for_text_and_status_edits():
    tb = up(TraceBuilder(), cls="edge")
    c1 = tb.edit(10, "d1", "r1", "text")
    c2 = tb.edit(11, "d1", "r1", "status", status="started")
    tb.ack(50, "d1", c1).ack(60, "d1", c2)
    r = result(tail(tb), FLOWS)
    assert r.verdict == "pass" and r.judged == 2


def test_flows_fails_when_not_acked_and_names_the_change():
    tb = up(TraceBuilder(), cls="gprs")
    c1 = tb.edit(10, "d1", "r1")
    (v,) = result(tail(tb), FLOWS).violations
    assert (v.t, v.dev) == (10, "d1") and c1 in v.message and "170" in v.message


@pytest.mark.parametrize(("at", "verdict"), [(10 + ACK, "pass"), (10 + ACK + EPS, "fail")])
def test_flows_boundary(at, verdict):
    tb = up(TraceBuilder())
    c1 = tb.edit(10, "d1", "r1")
    tb.ack(at, "d1", c1)
    assert result(tail(tb), FLOWS).verdict == verdict


def test_flows_photos_are_not_judged():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1", "photo")
    assert result(tail(tb), FLOWS).verdict == "n/a"


def test_flows_edits_offline_or_closed_are_not_judged():
    tb = TraceBuilder()
    tb.app(0, "d1", "opened").edit(10, "d1", "r1")  # offline
    tb.link(0, "d2", "wifi")
    tb.edit(10, "d2", "r2")  # app closed
    tb.link(20, "d1", "wifi").app(20, "d2", "opened")
    assert result(tail(tb), FLOWS).verdict == "n/a"


@pytest.mark.parametrize("cut", ["offline", "closed"])
def test_flows_cut_by_going_offline_or_closing(cut):
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    if cut == "offline":
        tb.link(100, "d1", "offline")
    else:
        tb.app(100, "d1", "closed")
    assert result(tail(tb), FLOWS).verdict == "n/a"


def test_flows_class_changes_and_minimizing_do_not_cut():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.link(50, "d1", "2g").app(60, "d1", "minimized").link(70, "d1", "lte")
    (v,) = result(tail(tb), FLOWS).violations
    assert v.t == 10


@pytest.mark.parametrize(("end", "verdict"), [(10 + ACK - EPS, "n/a"), (10 + ACK, "fail")])
def test_flows_cut_by_trace_end(end, verdict):
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.link(end, "d2", "wifi")
    assert result(tb, FLOWS).verdict == verdict


def test_flows_lists_every_violation():
    tb = up(up(TraceBuilder()), dev="d2")
    c1 = tb.edit(10, "d1", "r1")
    tb.edit(20, "d1", "r2")
    tb.edit(30, "d2", "r3")
    tb.ack(40, "d1", c1)
    r = result(tail(tb), FLOWS)
    assert sorted((v.t, v.dev) for v in r.violations) == [(20, "d1"), (30, "d2")]
    assert r.judged == 3


def test_flows_text_ack_s_parameter():
    tb = up(TraceBuilder())
    c1 = tb.edit(10, "d1", "r1")
    tb.ack(50, "d1", c1)
    assert result(tail(tb), FLOWS, text_ack_s=39).verdict == "fail"
    assert result(tail(tb), FLOWS, text_ack_s=40).verdict == "pass"


def test_flows_message_says_not_acked():
    tb = up(TraceBuilder())
    c1 = tb.edit(10, "d1", "r1")
    (v,) = result(tail(tb), FLOWS).violations
    assert v.message == f"{c1} edited at 10 online was not acked by 170"
