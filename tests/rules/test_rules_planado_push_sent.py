"""planado.push_sent on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

SENT = "planado.push_sent"
SEND = 5  # push_send_s
EPS = 1e-6


def test_sent_passes_for_every_op_with_an_assignee():
    tb = TraceBuilder()
    for k, (op, extra) in enumerate([("create", {}), ("assign", {}), ("status", {"status": "started"}),
                                     ("edit", {"version": 3}), ("attach", {"file": "f1"})]):
        tb.dispatch(10 * k, op, "r1", "d1", **extra)
        tb.srv_push(10 * k + 1, "d1", "r1")
    r = result(tail(tb), SENT)
    assert r.verdict == "pass" and r.judged == 5


def test_sent_fails_without_a_push_and_names_the_dispatch():
    tb = TraceBuilder()
    tb.dispatch(10, "status", "r1", "d1", status="paused")
    (v,) = result(tail(tb), SENT).violations
    assert (v.t, v.dev) == (10, "d1")
    assert "status" in v.message and "r1" in v.message and "srv_push" in v.message and "15" in v.message


def test_sent_push_to_the_wrong_device_or_record_does_not_count():
    tb = TraceBuilder()
    tb.dispatch(10, "create", "r1", "d1")
    tb.srv_push(11, "d2", "r1").srv_push(11, "d1", "r2")
    tb.dispatch(20, "create", "r3", "d1")
    tb.srv_push(19, "d1", "r3")  # before the dispatch: not "followed by"
    r = result(tail(tb), SENT)
    assert [v.t for v in r.violations] == [10, 20]


@pytest.mark.parametrize(("at", "verdict"), [(10 + SEND, "pass"), (10 + SEND + EPS, "fail")])
def test_sent_boundary(at, verdict):
    tb = TraceBuilder()
    tb.dispatch(10, "assign", "r1", "d1")
    tb.srv_push(at, "d1", "r1")
    assert result(tail(tb), SENT).verdict == verdict


@pytest.mark.parametrize(("end", "verdict"), [(10 + SEND - EPS, "n/a"), (10 + SEND, "fail")])
def test_sent_cut_by_trace_end(end, verdict):
    tb = TraceBuilder()
    tb.dispatch(10, "assign", "r1", "d1")
    tb.link(end, "d1", "wifi")
    assert result(tb, SENT).verdict == verdict


def test_sent_na_without_dispatch_or_without_assignee():
    tb = up(TraceBuilder())
    tb.srv_push(5, "d1", "r1")
    assert result(tail(tb), SENT).verdict == "n/a"
    tb.dispatch(10, "unassign", "r1", None)
    tb.dispatch(11, "create", "r2", None)
    assert result(tail(tb), SENT).verdict == "n/a"


def test_sent_goes_to_the_new_assignee():
    tb = TraceBuilder()
    tb.dispatch(0, "create", "r1", "d1").srv_push(1, "d1", "r1")
    tb.dispatch(10, "assign", "r1", "d2").srv_push(11, "d1", "r1")
    (v,) = result(tail(tb), SENT).violations
    assert (v.t, v.dev) == (10, "d2")


def test_sent_one_push_answers_several_dispatches():
    tb = TraceBuilder()
    tb.dispatch(10, "create", "r1", "d1").dispatch(11, "status", "r1", "d1", status="en_route")
    tb.srv_push(12, "d1", "r1")
    r = result(tail(tb), SENT)
    assert r.verdict == "pass" and r.judged == 2


def test_sent_lists_every_violation():
    tb = TraceBuilder()
    tb.dispatch(10, "create", "r1", "d1").dispatch(10, "create", "r2", "d2")
    tb.dispatch(30, "edit", "r1", "d1", version=2)
    r = result(tail(tb), SENT)
    assert sorted((v.t, v.dev) for v in r.violations) == [(10, "d1"), (10, "d2"), (30, "d1")]


def test_sent_expired_dispatch_does_not_lose_a_later_one():
    tb = TraceBuilder()
    tb.dispatch(0, "create", "r1", "d1")
    tb.dispatch(4, "status", "r1", "d1", status="started")
    tb.link(6, "d1", "wifi")  # the first window (deadline 5) expires here
    tb.srv_push(8, "d1", "r1")  # answers the second (deadline 9)
    r = result(tail(tb), SENT)
    assert [v.t for v in r.violations] == [0] and r.judged == 2


# -- end to end: meta server_trace false, no srv_push (a team's own server) ------------

def _e2e(channel=True):
    tb = TraceBuilder(extra_meta={"server_trace": False})
    up(tb)
    if channel:
        tb.push_channel(0.5, "d1", True)
    return tb


def test_e2e_a_push_reaching_the_device_passes():
    tb = _e2e()
    tb.dispatch(10, "status", "r1", "d1", status="started").push(18, "d1", "r1")
    r = result(tail(tb), SENT)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_e2e_no_push_by_send_plus_deliver_fails_and_says_how_it_was_judged():
    tb = _e2e()
    tb.dispatch(10, "status", "r1", "d1", status="started").push(20.5, "d1", "r1")
    (v,) = result(tail(tb), SENT).violations
    assert (v.t, v.dev) == (10, "d1") and "end to end" in v.message and "20" in v.message


def test_e2e_not_judged_while_the_channel_is_down():
    tb = _e2e()
    tb.push_channel(12, "d1", False).push_channel(30, "d1", True)
    tb.dispatch(10, "edit", "r1", "d1")
    assert result(tail(tb), SENT).verdict == "n/a"


def test_e2e_without_channel_events_the_device_must_be_up_throughout():
    tb = _e2e(channel=False)
    tb.dispatch(10, "create", "r1", "d1")
    assert result(tail(tb), SENT).verdict == "fail"
    tb = TraceBuilder(extra_meta={"server_trace": False})
    tb.link(8, "d1", "wifi").app(8, "d1", "opened")  # up only 2 s before the dispatch
    tb.dispatch(10, "create", "r1", "d1")
    assert result(tail(tb), SENT).verdict == "n/a"


def test_without_the_meta_word_a_trace_without_srv_push_fails_as_the_spec_says():
    tb = up(TraceBuilder())
    tb.dispatch(10, "create", "r1", "d1").push(11, "d1", "r1")
    assert result(tail(tb), SENT).verdict == "fail"


def test_e2e_na_says_when_no_push_channel_ever_came_up():
    tb = TraceBuilder(extra_meta={"server_trace": False})
    up(tb)
    tb.push_channel(0.5, "d1", False)  # the socket was refused: no /v1/push on this server
    tb.dispatch(10, "create", "r1", "d1")
    r = result(tail(tb), SENT)
    assert r.verdict == "n/a" and "/v1/push" in r.why and "FCM" in r.why
    r = result(tail(tb), "planado.push_delivered")
    assert r.verdict == "n/a" and "/v1/push" in r.why
