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


# -- black-box form: the bench's reading of the server (srv_record) ------------------

def _bb(version):
    tb = TraceBuilder("planado", settled=True)
    tb.dispatch(0, "create", "r1", "d1", version=1)
    c = tb.edit(10, "d1", "r1", fields={"report": "x"})
    tb.ack(30, "d1", c, version=2)
    tb.srv_record(100, "r1", version, "d1", fields={"report": "x"})
    return tb.results()["core.exactly_once"]


def test_black_box_passes_when_the_version_counts_the_writes():
    r = _bb(2)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_black_box_catches_a_write_applied_twice():
    (v,) = _bb(3).violations
    assert v.message.startswith("server fault: r1 is at v3") and "more than once" in v.message


def test_black_box_catches_a_change_acked_with_two_versions():
    tb = TraceBuilder("planado", settled=True)
    c = tb.edit(10, "d1", "r1", fields={"a": 1})
    tb.ack(11, "d1", c, version=1).ack(20, "d1", c, version=2)
    tb.srv_record(100, "r1", 2, "d1")
    r = tb.results()["core.exactly_once"]
    assert any("acked at v1 and again at v2" in v.message for v in r.violations)


def test_without_srv_apply_or_srv_record_it_is_na_and_says_why():
    tb = TraceBuilder("planado", settled=True)
    c = tb.edit(10, "d1", "r1")
    tb.ack(11, "d1", c, version=1)
    r = tb.results()["core.exactly_once"]
    assert r.verdict == "n/a" and "srv_record" in r.why
