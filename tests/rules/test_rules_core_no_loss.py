"""core.no_loss: "When meta.settled is true: every edit has an ack, and, if the
trace has any srv_apply, a srv_apply for its change. Not settled: n/a."

The rule has no time window, so there is nothing to cut: an edit is judged on
the whole trace.
"""

from __future__ import annotations

from bench.testing import TraceBuilder

RULE = "core.no_loss"


def result(tb: TraceBuilder):
    return tb.results()[RULE]


def test_acked_and_applied_passes():
    tb = TraceBuilder("playmaker", settled=True)
    c = tb.edit(1, "d1", "r1")
    tb.srv_apply(2, "d1", c, "r1", 2).ack(3, "d1", c)
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_ack_before_srv_apply_in_the_file_still_counts():
    tb = TraceBuilder("playmaker", settled=True)
    c = tb.edit(1, "d1", "r1")
    tb.ack(2, "d1", c).srv_apply(3, "d1", c, "r1", 2)
    assert result(tb).verdict == "pass"


def test_device_only_trace_needs_only_the_ack():
    # "if the trace has any srv_apply": none here, so the ack is enough.
    tb = TraceBuilder("planado", settled=True)
    c = tb.edit(1, "d1", "r1")
    tb.ack(2, "d1", c)
    assert result(tb).verdict == "pass"


def test_never_acked_fails():
    tb = TraceBuilder("planado", settled=True)
    tb.edit(1.5, "d1", "r1", change="c-lost")
    tb.link(9, "d1", "wifi")
    r = result(tb)
    assert r.verdict == "fail"
    (v,) = r.violations
    assert (v.t, v.dev) == (1.5, "d1")
    assert "c-lost" in v.message and "never acked" in v.message


def test_applied_but_never_acked_fails():
    tb = TraceBuilder("planado", settled=True)
    c = tb.edit(1, "d1", "r1")
    tb.srv_apply(2, "d1", c, "r1", 2)
    (v,) = result(tb).violations
    assert "never acked" in v.message and c in v.message


def test_acked_but_never_applied_fails_when_the_server_is_traced():
    tb = TraceBuilder("planado", settled=True)
    c1 = tb.edit(1, "d1", "r1")
    c2 = tb.edit(2, "d1", "r2")
    tb.srv_apply(3, "d1", c1, "r1", 2).ack(3, "d1", c1).ack(4, "d1", c2)
    r = result(tb)
    (v,) = r.violations
    assert (v.t, v.dev) == (2, "d1")
    assert c2 in v.message and "srv_apply" in v.message
    assert r.judged == 2


def test_an_ack_on_another_device_does_not_count():
    tb = TraceBuilder("planado", settled=True)
    tb.edit(1, "d1", "r1", change="c1")
    tb.ack(2, "d2", "c1")
    assert result(tb).verdict == "fail"


def test_every_lost_edit_is_listed():
    tb = TraceBuilder("planado", settled=True)
    tb.edit(1, "d1", "r1")
    tb.edit(2, "d2", "r1")
    c = tb.edit(3, "d1", "r2")
    tb.ack(4, "d1", c)
    r = result(tb)
    assert sorted((v.t, v.dev) for v in r.violations) == [(1, "d1"), (2, "d2")]


def test_not_settled_is_na_even_with_a_lost_edit():
    for settled in (False, None):
        tb = TraceBuilder("planado", settled=settled)
        tb.edit(1, "d1", "r1")
        assert result(tb).verdict == "n/a"


def test_settled_without_edits_is_na():
    tb = TraceBuilder("planado", settled=True).link(0, "d1", "wifi")
    assert result(tb).verdict == "n/a"
