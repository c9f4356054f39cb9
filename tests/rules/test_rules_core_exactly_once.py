"""core.exactly_once: "No change has more than one srv_apply; every ack follows
a srv_apply of that change. No srv_apply in the trace: n/a."

No time window: nothing to cut.
"""

from __future__ import annotations

from bench.testing import TraceBuilder

RULE = "core.exactly_once"


def result(tb: TraceBuilder):
    return tb.results()[RULE]


def test_one_apply_then_ack_passes():
    tb = TraceBuilder("playmaker")
    c = tb.edit(1, "d1", "r1")
    tb.srv_apply(2, "d1", c, "r1", 2).ack(2, "d1", c)
    r = result(tb)
    assert r.verdict == "pass" and r.judged == 2


def test_applied_twice_fails_at_the_second_apply():
    tb = TraceBuilder("playmaker")
    c = tb.edit(1, "d1", "r1", change="c-dup")
    tb.srv_apply(2, "d1", c, "r1", 2).srv_apply(7.5, "d1", c, "r1", 3).ack(8, "d1", c)
    r = result(tb)
    (v,) = r.violations
    assert (v.t, v.dev) == (7.5, "d1")
    assert "c-dup" in v.message and "first srv_apply at 2" in v.message


def test_every_extra_apply_is_listed():
    tb = TraceBuilder("playmaker")
    c = tb.edit(1, "d1", "r1")
    d = tb.edit(1, "d2", "r2")
    for t in (2, 3, 4):
        tb.srv_apply(t, "d1", c, "r1", t)
    tb.srv_apply(5, "d2", d, "r2", 1).srv_apply(6, "d2", d, "r2", 2)
    r = result(tb)
    assert [(v.t, v.dev) for v in r.violations] == [(3, "d1"), (4, "d1"), (6, "d2")]


def test_ack_without_any_srv_apply_of_its_change_fails():
    tb = TraceBuilder("playmaker")
    c1 = tb.edit(1, "d1", "r1")
    c2 = tb.edit(1, "d1", "r2", change="c-ghost")
    tb.srv_apply(2, "d1", c1, "r1", 2).ack(2, "d1", c1).ack(4, "d1", c2)
    r = result(tb)
    (v,) = r.violations
    assert (v.t, v.dev) == (4, "d1")
    assert "c-ghost" in v.message and "no srv_apply" in v.message


def test_ack_must_follow_the_apply_in_trace_order():
    tb = TraceBuilder("playmaker")
    c = tb.edit(1, "d1", "r1")
    tb.ack(2, "d1", c).srv_apply(2, "d1", c, "r1", 2)  # same t, ack first in the file
    assert result(tb).verdict == "fail"


def test_ack_after_the_apply_much_later_passes():
    tb = TraceBuilder("playmaker")
    c = tb.edit(1, "d1", "r1")
    tb.srv_apply(2, "d1", c, "r1", 2).ack(500, "d1", c)
    assert result(tb).verdict == "pass"


def test_no_srv_apply_is_na_even_with_acks():
    tb = TraceBuilder("playmaker")
    c = tb.edit(1, "d1", "r1")
    tb.ack(2, "d1", c)
    r = result(tb)
    assert (r.verdict, r.violations) == ("n/a", ())
