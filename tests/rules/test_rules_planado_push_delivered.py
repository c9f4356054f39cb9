"""planado.push_delivered on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

DELIVERED = "planado.push_delivered"
DELIVER = 5  # push_deliver_s
EPS = 1e-6


def test_delivered_passes():
    tb = up(TraceBuilder())
    tb.srv_push(10, "d1", "r1").push(11, "d1", "r1")
    r = result(tail(tb), DELIVERED)
    assert r.verdict == "pass" and r.judged == 1


def test_delivered_fails_when_the_push_never_arrives():
    tb = up(TraceBuilder())
    tb.srv_push(10, "d1", "r1").push(11, "d1", "r2")  # another record does not count
    (v,) = result(tail(tb), DELIVERED).violations
    assert (v.t, v.dev) == (10, "d1") and "srv_push of r1" in v.message and "15" in v.message


@pytest.mark.parametrize(("at", "verdict"), [(10 + DELIVER, "pass"), (10 + DELIVER + EPS, "fail")])
def test_delivered_boundary(at, verdict):
    tb = up(TraceBuilder())
    tb.srv_push(10, "d1", "r1").push(at, "d1", "r1")
    assert result(tail(tb), DELIVERED).verdict == verdict


def test_delivered_na_when_device_unreachable_at_srv_push():
    tb = TraceBuilder()
    tb.link(0, "d1", "wifi")  # app closed
    tb.app(0, "d2", "opened")  # offline
    tb.srv_push(10, "d1", "r1").srv_push(10, "d2", "r1")
    tb.app(11, "d1", "opened").link(11, "d2", "lte")
    assert result(tail(tb), DELIVERED).verdict == "n/a"


@pytest.mark.parametrize("cut", ["offline", "closed"])
def test_delivered_cut_by_going_offline_or_closing(cut):
    tb = up(TraceBuilder())
    tb.srv_push(10, "d1", "r1")
    if cut == "offline":
        tb.link(12, "d1", "offline")
    else:
        tb.app(12, "d1", "closed")
    assert result(tail(tb), DELIVERED).verdict == "n/a"


def test_delivered_minimized_still_judged():
    tb = up(TraceBuilder())
    tb.app(5, "d1", "minimized").srv_push(10, "d1", "r1")
    assert result(tail(tb), DELIVERED).verdict == "fail"


@pytest.mark.parametrize(("end", "verdict"), [(10 + DELIVER - EPS, "n/a"), (10 + DELIVER, "fail")])
def test_delivered_cut_by_trace_end(end, verdict):
    tb = up(TraceBuilder())
    tb.srv_push(10, "d1", "r1")
    tb.link(end, "d2", "wifi")
    assert result(tb, DELIVERED).verdict == verdict


def test_delivered_one_push_answers_every_srv_push_of_that_record():
    # "a push for that record on that device within push_deliver_s"
    tb = up(TraceBuilder())
    tb.srv_push(10, "d1", "r1").srv_push(11, "d1", "r1").push(12, "d1", "r1")
    r = result(tail(tb), DELIVERED)
    assert r.verdict == "pass" and r.judged == 2


def test_delivered_lists_every_violation_and_devices_are_independent():
    tb = up(up(TraceBuilder()), dev="d2")
    tb.srv_push(10, "d1", "r1").srv_push(10, "d2", "r2").push(11, "d1", "r2")
    tb.srv_push(20, "d1", "r3")
    r = result(tail(tb), DELIVERED)
    assert sorted((v.t, v.dev) for v in r.violations) == [(10, "d1"), (10, "d2"), (20, "d1")]


def test_e2e_judges_the_unassign_push_to_the_previous_assignee():
    tb = TraceBuilder(extra_meta={"server_trace": False})
    for d in ("d1", "d2"):
        tb.link(0, d, "wifi").app(0, d, "opened").push_channel(0.5, d, True)
    tb.dispatch(10, "create", "r1", "d1").push(11, "d1", "r1")
    tb.dispatch(20, "assign", "r1", "d2").push(21, "d2", "r1")  # d1 is never told
    tb.link(1000, "zz", "offline")
    r = tb.results()["planado.push_delivered"]
    (v,) = r.violations
    assert (v.t, v.dev) == (20, "d1") and "previous assignee" in v.message
    assert r.judged == 3
    assert tb.results()["planado.push_sent"].verdict == "pass"  # the new assignee got it
