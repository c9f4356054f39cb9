"""playmaker.manual_pulls_all: "after each successful manual sync, for every
record assigned to the device at that sync's start, the device's version
(largest recv version, or srv_apply version of its own change) is at least the
server version at that sync's start. No dispatch: n/a."

"Server version ... the largest version among dispatch and srv_apply events
for it strictly before t" (trace.md).
"""

from __future__ import annotations

from bench.testing import TraceBuilder

RULE = "playmaker.manual_pulls_all"


def result(tb: TraceBuilder):
    return tb.results()[RULE]


def base() -> TraceBuilder:
    tb = TraceBuilder("playmaker").link(0, "d1", "wifi").app(0, "d1", "opened")
    return tb.dispatch(1, "create", "r1", "d1", version=1).dispatch(2, "edit", "r1", "d1", version=2)


def manual(tb: TraceBuilder, t: float, recvs: dict[str, int], ok: bool = True, dev: str = "d1") -> str:
    s = tb.sync_start(t, dev, "manual")
    for rec, v in recvs.items():
        tb.recv(t + 0.5, dev, rec, v, sync=s)
    tb.sync_end(t + 1, dev, s, ok=ok)
    return s


def test_pulling_the_latest_version_passes():
    tb = base()
    manual(tb, 10, {"r1": 2})
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_a_stale_record_fails():
    tb = base()
    s = manual(tb, 10, {"r1": 1})
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (11, "d1")
    assert s in v.message and "r1 (has 1, server 2)" in v.message


def test_nothing_pulled_fails():
    tb = base()
    manual(tb, 10, {})
    (v,) = result(tb).violations
    assert "r1 (has 0, server 2)" in v.message


def test_version_at_the_sync_start_is_strictly_before_it():
    tb = base()
    tb.dispatch(10, "edit", "r1", "d1", version=3)  # same t as the start: not "strictly before"
    manual(tb, 10, {"r1": 2})
    tb.dispatch(10.5, "edit", "r1", "d1", version=4)  # during the sync: not required
    assert result(tb).verdict == "pass"


def test_own_change_counts_as_the_device_version():
    tb = base()
    c = tb.edit(5, "d1", "r1")
    tb.srv_apply(6, "d1", c, "r1", 3).ack(6, "d1", c)
    manual(tb, 10, {})
    assert result(tb).verdict == "pass"


def test_another_devices_change_raises_the_server_version():
    tb = base().dispatch(3, "assign", "r1", "d1")
    tb.srv_apply(6, "d2", "d2-c1", "r1", 3)
    manual(tb, 10, {"r1": 2})
    assert "server 3" in result(tb).violations[0].message


def test_only_records_assigned_at_the_start_are_required():
    tb = base()
    tb.dispatch(3, "create", "r2", "d2", version=5)
    tb.dispatch(4, "create", "r3", "d1", version=1).dispatch(5, "unassign", "r3", None, version=2)
    manual(tb, 10, {"r1": 2})
    tb.dispatch(10.2, "create", "r4", "d1", version=1)
    assert result(tb).verdict == "pass"


def test_failed_or_automatic_or_unfinished_syncs_are_not_judged():
    tb = base()
    manual(tb, 10, {}, ok=False)
    tb.sync(20, "d1", "timer")
    tb.sync_start(30, "d1", "manual")
    assert result(tb).verdict == "n/a"


def test_every_stale_sync_is_listed_and_long_lists_shortened():
    tb = base()
    for i in range(5):
        tb.dispatch(3, "create", f"x{i}", "d1", version=1)
    manual(tb, 10, {})
    manual(tb, 20, {"r1": 2})
    r = result(tb)
    assert [v.t for v in r.violations] == [11, 21]
    assert "and 3 more" in r.violations[0].message


def test_devices_are_judged_separately():
    tb = base().link(0, "d2", "wifi").dispatch(3, "create", "r2", "d2", version=4)
    manual(tb, 10, {"r1": 2})
    manual(tb, 10, {}, dev="d2")
    r = result(tb)
    assert [(v.dev, "r2" in v.message) for v in r.violations] == [("d2", True)]


def test_no_dispatch_is_na():
    tb = TraceBuilder("playmaker").link(0, "d1", "wifi")
    manual(tb, 10, {"r1": 1})
    assert result(tb).verdict == "n/a"


def test_a_dispatch_after_the_sync_makes_it_judged():
    tb = TraceBuilder("playmaker").link(0, "d1", "wifi")
    manual(tb, 10, {})
    tb.dispatch(20, "create", "r1", "d1", version=1)
    assert result(tb).verdict == "pass"
