"""planado.push_scope on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

SCOPE = "planado.push_scope"
SLACK = 5  # scope_slack_s
EPS = 1e-6


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
