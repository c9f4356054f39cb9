"""core.scope: "Every recv of a record that appears in any dispatch needs that
record to have had this device as assignee at some time in [t - scope_slack_s, t].
Records never dispatched are not judged; no dispatch at all: n/a."

No precondition on link or app: the only window is the slack, a closed
interval reaching back from the recv.
"""

from __future__ import annotations

from bench.testing import TraceBuilder

RULE = "core.scope"
SLACK = 5  # scope_slack_s default


def result(tb: TraceBuilder, **params):
    return tb.results(**params)[RULE]


def test_recv_of_an_assigned_record_passes():
    tb = TraceBuilder("planado").dispatch(1, "create", "r1", "d1", version=1).recv(3, "d1", "r1", 1)
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_recv_right_after_the_assign_at_the_same_t_passes():
    tb = TraceBuilder("planado").dispatch(3, "assign", "r1", "d1").recv(3, "d1", "r1", 1)
    assert result(tb).verdict == "pass"


def test_recv_of_someone_elses_record_fails():
    tb = TraceBuilder("planado").dispatch(1, "create", "r1", "d1").recv(3.25, "d2", "r1", 1)
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (3.25, "d2")
    assert "r1" in v.message and "assigned to d1" in v.message


def test_recv_of_an_unassigned_record_fails():
    tb = TraceBuilder("planado").dispatch(1, "create", "r1", None).recv(3, "d1", "r1", 1)
    (v,) = result(tb).violations
    assert "nobody" in v.message


def test_slack_after_reassign_exactly_passes():
    tb = TraceBuilder("planado").dispatch(0, "create", "r1", "d1").dispatch(10, "assign", "r1", "d2")
    tb.recv(10 + SLACK, "d1", "r1", 1)
    assert result(tb).verdict == "pass"


def test_slack_after_unassign_one_step_past_fails():
    tb = TraceBuilder("planado").dispatch(0, "create", "r1", "d1").dispatch(10, "unassign", "r1", None)
    tb.recv(10 + SLACK + 0.001, "d1", "r1", 1)
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (15.001, "d1")


def test_slack_is_a_parameter():
    tb = TraceBuilder("planado").dispatch(0, "create", "r1", "d1").dispatch(10, "unassign", "r1", None)
    tb.recv(19, "d1", "r1", 1)
    assert result(tb).verdict == "fail"
    assert result(tb, scope_slack_s=9).verdict == "pass"


def test_earlier_stint_counts_only_within_the_slack():
    tb = TraceBuilder("planado").dispatch(0, "create", "r1", "d1").dispatch(10, "assign", "r1", "d2")
    tb.dispatch(20, "assign", "r1", "d3").recv(24, "d2", "r1", 1).recv(24, "d1", "r1", 1)
    r = result(tb)
    assert [v.dev for v in r.violations] == ["d1"]


def test_recv_before_the_record_is_first_dispatched_fails():
    # The record appears in a dispatch, but only after the recv: nobody had it then.
    tb = TraceBuilder("planado").dispatch(0, "create", "r0", "d1").recv(3, "d1", "r1", 1)
    tb.dispatch(8, "create", "r1", "d1")
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (3, "d1")
    assert "r1" in v.message and "before any dispatch" in v.message


def test_records_never_dispatched_are_not_judged():
    tb = TraceBuilder("planado").dispatch(0, "create", "r0", "d1").recv(3, "d1", "r-other", 1)
    assert result(tb).verdict == "n/a"


def test_no_dispatch_at_all_is_na():
    tb = TraceBuilder("planado").recv(3, "d1", "r1", 1)
    assert result(tb).verdict == "n/a"


def test_every_bad_recv_is_listed():
    tb = TraceBuilder("planado").dispatch(0, "create", "r1", "d1")
    tb.recv(2, "d2", "r1", 1).recv(4, "d3", "r1", 1).recv(5, "d1", "r1", 1)
    r = result(tb)
    assert [(v.t, v.dev) for v in r.violations] == [(2, "d2"), (4, "d3")]
    assert r.judged == 3


def test_dispatch_carrying_an_extra_dev_field_still_assigns():
    # Extra optional fields are allowed; a dispatch stays a dispatch.
    tb = TraceBuilder("planado")
    tb.add("dispatch", 0, "web", op="create", record="r1", assignee="d1")
    tb.recv(1, "d1", "r1", 1)
    assert result(tb).verdict == "pass"
