"""The one-pass checker, the derived state and the verdict logic."""

from __future__ import annotations

import pytest

from bench.rules import (
    FAIL,
    NA,
    PASS,
    REGISTRY,
    Checker,
    Policy,
    Rule,
    RuleResult,
    Violation,
    check_events,
    get_policy,
)
from bench.rules.base import fmt_t
from bench.rules.state import Context
from bench.rules.window import Window, expire_due
from bench.testing import TraceBuilder


class _Spy(Rule):
    """Records what the checker tells it, and the state it sees."""

    id = "test.spy"
    title = "spy"
    statement = "records the state"

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self.log: list[tuple] = []

    def on_up(self, ds, t):
        self.log.append(("up", ds.dev, t))

    def on_down(self, ds, t):
        self.log.append(("down", ds.dev, t))

    def on_manual(self, ev, ds):
        self.log.append(("manual", ev["t"], ds.link, ds.app, ds.online, ds.running, ds.slow, ds.fast,
                         ds.syncing, sorted(ds.unsent)))

    def on_dispatch(self, ev, ds):
        self.log.append(("dispatch", ds, self.ctx.records[ev["record"]].assignee))


@pytest.fixture
def spy_checker(monkeypatch):
    monkeypatch.setitem(REGISTRY, _Spy.id, _Spy)

    def make(meta=None):
        checker = Checker(Policy(name="spy", rules=(_Spy.id,)), meta=meta)
        return checker, checker.rules[0]

    return make


def test_derived_state_at_each_event(spy_checker):
    checker, spy = spy_checker()
    tb = TraceBuilder(None).manual(0, "d1")  # offline and closed before any event
    tb.link(1, "d1", "edge").app(2, "d1", "minimized").manual(3, "d1")
    c = tb.edit(4, "d1", "r1")
    tb.sync_start(5, "d1", "timer", sync="s1")
    tb.manual(6, "d1").ack(7, "d1", c).sync_end(8, "d1", "s1")
    tb.link(9, "d1", "wifi").manual(9, "d1")
    checker.feed_all(tb.sorted_events())
    manual = [e[1:] for e in spy.log if e[0] == "manual"]
    assert manual == [
        (0, "offline", "closed", False, False, False, False, False, []),
        (3, "edge", "minimized", True, True, True, False, False, []),
        (6, "edge", "minimized", True, True, True, False, True, [c]),
        (9, "wifi", "minimized", True, True, False, True, False, []),
    ]


def test_up_and_down_hooks(spy_checker):
    checker, spy = spy_checker()
    tb = TraceBuilder(None).link(0, "d1", "wifi").app(1, "d1", "opened").app(2, "d1", "minimized")
    tb.link(3, "d1", "lte").app(4, "d1", "closed").app(5, "d1", "restored").link(6, "d1", "offline")
    checker.feed_all(tb.sorted_events())
    assert [e for e in spy.log if e[0] in ("up", "down")] == [
        ("up", "d1", 1), ("down", "d1", 4), ("up", "d1", 5), ("down", "d1", 6)]


def test_dispatch_is_never_a_device_event(spy_checker):
    checker, spy = spy_checker()
    checker.feed({"ev": "dispatch", "t": 0, "op": "create", "record": "r1", "assignee": "d1", "dev": "web"})
    assert spy.log == [("dispatch", None, "d1")]
    assert "web" not in checker.ctx.devices


def test_meta_and_unknown_kinds_are_ignored(spy_checker):
    checker, spy = spy_checker()
    checker.feed({"ev": "meta", "schema": "syncbench.trace/1"})
    checker.feed({"ev": "link", "t": 1, "dev": "d1", "class": "wifi"})
    checker.feed({"ev": "x_custom", "t": 50})
    assert (checker.events, checker.end_t, checker.ctx.now) == (1, 1, 1)


def test_clock_fires_deadlines_strictly_before_the_next_event():
    ctx = Context()
    fired = []
    for d in (5, 10):
        ctx.schedule(Window("d1", d, lambda w: fired.append(w.deadline)))
    ctx.fire_before(5)
    assert fired == []
    ctx.fire_before(5.000001)
    assert fired == [5]
    closed = Window("d1", 1, lambda w: fired.append("closed one fired"))
    closed.close()
    ctx.schedule(closed)
    ctx.fire_before(100)
    assert fired == [5, 10]


def test_expire_due_fires_windows_ending_at_or_before_the_end():
    fired = []
    ws = [Window("d1", d, lambda w: fired.append(w.deadline)) for d in (4, 5, 6)]
    expire_due(ws, 5)
    assert fired == [4, 5] and [w.open for w in ws] == [False, False, True]
    expire_due(ws, None)
    assert fired == [4, 5]


def test_settled_only_when_true():
    assert Context({"settled": True}).settled
    assert not Context({"settled": "yes"}).settled
    assert not Context(None).settled


def test_verdict_logic():
    class R(Rule):
        id = "test.verdict"
        title = statement = "t"

    r = R(Context(), {})
    assert r.result().verdict == NA
    r.passed(2)
    assert (r.result().verdict, r.result().judged) == (PASS, 2)
    r.fail(3, "d1", "broke")
    res = r.result()
    assert res.verdict == FAIL and res.violations == (Violation(t=3, dev="d1", message="broke"),)
    assert res.as_dict() == {"id": "test.verdict", "verdict": "fail",
                             "violations": [{"t": 3, "dev": "d1", "message": "broke"}]}


def test_results_come_one_per_rule_in_policy_order():
    pol = get_policy("playmaker")
    results = check_events([{"ev": "link", "t": 0, "dev": "d1", "class": "wifi"}], pol)
    assert [r.id for r in results] == list(pol.rules)
    assert all(isinstance(r, RuleResult) for r in results)


def test_fed_one_by_one_or_all_at_once_gives_the_same_verdicts():
    tb = TraceBuilder("playmaker", settled=True).link(0, "d1", "wifi").app(0, "d1", "opened").manual(5, "d1")
    tb.edit(6, "d1", "r1")
    tb.link(100, "d1", "wifi")
    events = tb.sorted_events()
    one = Checker(get_policy("playmaker"), meta=tb.meta)
    for ev in events:
        one.feed(ev)
    assert one.finish() == check_events(events, get_policy("playmaker"), meta=tb.meta)


def test_fmt_t():
    assert (fmt_t(10), fmt_t(10.0), fmt_t(1.5), fmt_t(1.23456)) == ("10", "10", "1.5", "1.235")


def test_violations_are_listed_in_time_order_and_capped(monkeypatch):
    import bench.rules.base as base
    from bench.testing import TraceBuilder

    monkeypatch.setattr(base, "MAX_VIOLATIONS_KEPT", 3)
    tb = TraceBuilder("planado")
    tb.link(0, "d1", "wifi").app(0, "d1", "opened")
    for i in range(5):  # five pushes nobody answers with a sync
        tb.push(10 + 20 * i, "d1", "job-1")
    tb.link(200, "d1", "wifi")
    r = tb.results()["planado.push_sync"]
    assert r.verdict == "fail"
    assert r.count == 5 and len(r.violations) == 3 and r.truncated
    assert [v.t for v in r.violations] == [10, 30, 50]
    assert r.as_dict()["violations_total"] == 5
    assert "violations_total" not in tb.results()["planado.cadence"].as_dict()


# -- the lean clock (issue #12): what is settled within an instant never reaches the heap --------


def test_a_window_closed_within_its_instant_never_reaches_the_heap():
    ctx = Context()
    ctx.now = 1
    fired = []
    w = Window("d1", 3, lambda w: fired.append("closed one fired"))
    ctx.schedule(w)
    w.close()
    kept = Window("d1", 2, lambda w: fired.append(w.deadline))
    ctx.schedule(kept)
    ctx.fire_before(1.5)  # the instant is over: only the open window is heaped
    assert ctx._heap == [(2, kept.seq, kept)] and ctx.pending == 1
    ctx.fire_before(10)
    assert fired == [2]


def test_instant_end_runs_once_before_deadlines_fire():
    ctx = Context()
    order = []
    ctx.schedule(Window("d1", 1, lambda w: order.append("deadline")))
    ctx.at_instant_end(lambda: order.append("instant end"))
    ctx.fire_before(5)
    ctx.fire_before(6)
    assert order == ["instant end", "deadline"]


def test_display_corrected_at_the_same_instant_opens_no_window():
    tb = TraceBuilder("planado").link(0, "d1", "wifi").app(0, "d1", "opened")
    c = tb.edit(10, "d1", "r1")
    tb.unsent(10, "d1", 1).ack(20, "d1", c).unsent(20, "d1", 0)
    checker = Checker(Policy(name="p", rules=("planado.unsent_count",)), meta=tb.meta)
    for ev in tb.sorted_events():
        checker.feed(ev)
        assert checker.ctx.pending == 0
    (r,) = checker.finish()
    assert r.verdict == PASS


def test_respond_subscribes_a_device_only_while_it_waits():
    tb = TraceBuilder("planado").link(0, "d1", "wifi").app(0, "d1", "opened").link(0, "d2", "wifi")
    tb.app(0, "d2", "opened")
    tb.sync(1, "d2", "timer")
    tb.push(5, "d1", "job-1")
    checker = Checker(get_policy("planado"), meta=tb.meta)
    checker.feed_all(tb.sorted_events())
    d1, d2 = checker.ctx.devices["d1"], checker.ctx.devices["d2"]
    assert [w.rule.id for w in d1.sync_waiters] == ["planado.sync_on_open", "planado.push_sync"]
    assert d2.sync_waiters == []  # its open was answered at 1
    checker.feed({"ev": "sync_start", "t": 6, "dev": "d1", "sync": "d1-s9", "trigger": "push"})
    assert d1.sync_waiters == []
    assert {r.id: r.verdict for r in checker.finish()}["planado.push_sync"] == PASS


def test_cadence_keeps_the_violations_the_clock_would_have_kept(monkeypatch):
    import bench.rules.base as base

    monkeypatch.setattr(base, "MAX_VIOLATIONS_KEPT", 2)
    tb = TraceBuilder("planado")
    for i, dev in enumerate(("d3", "d1", "d2")):  # idle from 0, 1, 2: overdue at 130, 131, 132
        tb.link(i, dev, "wifi").app(i, dev, "opened")
    tb.sync(140, "d2", "timer")  # the lazy check meets d2 first
    tb.sync(150, "d1", "timer")
    tb.link(400, "zz", "offline")
    r = tb.results()["planado.cadence"]
    assert r.count == 5 and [(v.t, v.dev) for v in r.violations] == [(0, "d3"), (1, "d1")]


def test_a_rules_own_place_on_every_device_is_taken_before_the_first_device():
    ctx = Context(None)
    a, b = ctx.own_slot(), ctx.own_slot()
    ds = ctx.device("w1")
    assert (a, b) == (0, 1) and ds.own == [None, None]
    with pytest.raises(RuntimeError, match="own_slot: asked after the first device"):
        ctx.own_slot()
