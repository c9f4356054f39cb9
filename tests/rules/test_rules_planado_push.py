"""planado.push_sent, push_delivered, push_scope and offline_no_push (rules.md)."""

from __future__ import annotations

import pytest
from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

SENT = "planado.push_sent"
DELIVERED = "planado.push_delivered"
SCOPE = "planado.push_scope"
OFFLINE = "planado.offline_no_push"
SEND = 5  # push_send_s
DELIVER = 5  # push_deliver_s
SLACK = 5  # scope_slack_s
EPS = 1e-6


# -- planado.push_sent ------------------------------------------------------------------------


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


# -- planado.push_delivered -------------------------------------------------------------------


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


# -- planado.push_scope -----------------------------------------------------------------------


def test_scope_passes_for_the_assignee():
    tb = up(TraceBuilder())
    tb.dispatch(5, "create", "r1", "d1")
    tb.srv_push(6, "d1", "r1").push(7, "d1", "r1")
    r = result(tail(tb), SCOPE)
    assert r.verdict == "pass" and r.judged == 2


def test_scope_fails_for_another_device():
    tb = up(up(TraceBuilder()), dev="d2")
    tb.dispatch(5, "create", "r1", "d1")
    tb.srv_push(6, "d2", "r1").push(7, "d2", "r1")
    r = result(tail(tb), SCOPE)
    assert [(v.t, v.dev) for v in r.violations] == [(6, "d2"), (7, "d2")]
    assert "srv_push of r1" in r.violations[0].message and "d1" in r.violations[0].message
    assert r.violations[1].message.startswith("push of r1")


def test_scope_fails_for_a_record_no_dispatch_named():
    tb = up(TraceBuilder())
    tb.dispatch(5, "create", "r1", "d1")
    tb.push(6, "d1", "r9")
    (v,) = result(tail(tb), SCOPE).violations
    assert (v.t, v.dev) == (6, "d1") and "r9" in v.message and "no dispatch" in v.message


def test_scope_push_before_any_dispatch_fails_once_a_dispatch_exists():
    tb = up(TraceBuilder())
    tb.push(3, "d1", "r1")
    tb.dispatch(5, "create", "r1", "d1")
    (v,) = result(tail(tb), SCOPE).violations
    assert v.t == 3


def test_scope_na_without_any_dispatch():
    tb = up(TraceBuilder())
    tb.push(3, "d1", "r1").srv_push(4, "d1", "r2")
    assert result(tail(tb), SCOPE).verdict == "n/a"


def test_scope_unassigned_record_fails():
    tb = up(TraceBuilder())
    tb.dispatch(5, "create", "r1", None)
    (v,) = result(tail(tb.push(6, "d1", "r1")), SCOPE).violations
    assert "nobody" in v.message


@pytest.mark.parametrize(("at", "verdict"), [(10 + SLACK, "pass"), (10 + SLACK + EPS, "fail")])
def test_scope_slack_after_reassignment(at, verdict):
    tb = up(TraceBuilder())
    tb.dispatch(0, "create", "r1", "d1")
    tb.dispatch(10, "assign", "r1", "d2")  # d1 stops being the assignee at 10
    tb.push(at, "d1", "r1")
    assert result(tail(tb), SCOPE).verdict == verdict


def test_scope_assignment_before_the_push_window_does_not_count():
    tb = up(TraceBuilder())
    tb.dispatch(0, "create", "r1", "d1").dispatch(1, "unassign", "r1", None)
    tb.dispatch(2, "assign", "r1", "d1").dispatch(3, "assign", "r1", "d2")
    tb.push(8, "d1", "r1")  # d1 last held it until 3: within [3, 8]
    tb.push(9, "d1", "r1")  # not within [4, 9]
    r = result(tail(tb), SCOPE)
    assert [v.t for v in r.violations] == [9]


# -- planado.offline_no_push ------------------------------------------------------------------


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


def test_sent_expired_dispatch_does_not_lose_a_later_one():
    tb = TraceBuilder()
    tb.dispatch(0, "create", "r1", "d1")
    tb.dispatch(4, "status", "r1", "d1", status="started")
    tb.link(6, "d1", "wifi")  # the first window (deadline 5) expires here
    tb.srv_push(8, "d1", "r1")  # answers the second (deadline 9)
    r = result(tail(tb), SENT)
    assert [v.t for v in r.violations] == [0] and r.judged == 2
