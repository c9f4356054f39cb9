"""playmaker.no_auto_download: "every recv belongs to a sync (its sync field,
else the sync in progress) whose trigger is manual; a recv outside any sync fails."

No time window and no precondition: nothing to cut.
"""

from __future__ import annotations

from bench.testing import TraceBuilder

RULE = "playmaker.no_auto_download"


def result(tb: TraceBuilder):
    return tb.results()[RULE]


def base() -> TraceBuilder:
    return TraceBuilder("playmaker").link(0, "d1", "wifi").app(0, "d1", "opened")


def test_recv_in_a_manual_sync_passes_by_field_and_by_progress():
    tb = base()
    s = tb.sync_start(10, "d1", "manual")
    tb.recv(11, "d1", "r1", 2, sync=s).recv(12, "d1", "r2", 1).sync_end(13, "d1", s)
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 2)


def test_recv_naming_an_ended_manual_sync_passes():
    tb = base()
    s = tb.sync_start(10, "d1", "manual")
    tb.sync_end(11, "d1", s).recv(12, "d1", "r1", 2, sync=s)
    assert result(tb).verdict == "pass"


def test_recv_in_an_automatic_sync_fails_by_field():
    tb = base()
    m = tb.sync_start(10, "d1", "manual")
    s = tb.sync_start(10, "d1", "timer")
    tb.recv(11, "d1", "r1", 2, sync=s).sync_end(12, "d1", s).sync_end(12, "d1", m)
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (11, "d1")
    assert "r1" in v.message and s in v.message and "triggered by timer" in v.message


def test_recv_in_an_automatic_sync_in_progress_fails():
    tb = base()
    s = tb.sync_start(10, "d1", "push")
    tb.recv(11.5, "d1", "r1", 2).sync_end(12, "d1", s)
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (11.5, "d1")
    assert "triggered by push" in v.message


def test_recv_outside_any_sync_fails():
    tb = base()
    tb.sync(5, "d1", "manual", end=6)
    tb.recv(7, "d1", "r1", 2)
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (7, "d1")
    assert "r1" in v.message and "outside any sync" in v.message


def test_recv_naming_an_unknown_sync_fails():
    tb = base().recv(7, "d1", "r1", 2, sync="nope")
    (v,) = result(tb).violations
    assert "unknown sync nope" in v.message


def test_sync_ids_are_per_device():
    tb = base()
    tb.sync_start(5, "d2", "manual", sync="s1")
    s = tb.sync_start(6, "d1", "timer", sync="s1")
    tb.recv(7, "d1", "r1", 2, sync=s)
    assert result(tb).verdict == "fail"


def test_several_syncs_in_progress_one_manual_passes():
    tb = base()
    tb.sync_start(10, "d1", "timer")
    tb.sync_start(11, "d1", "manual")
    tb.sync_start(12, "d1", "push")
    tb.recv(13, "d1", "r1", 2)
    assert result(tb).verdict == "pass"


def test_several_syncs_in_progress_none_manual_fails():
    tb = base()
    tb.sync_start(10, "d1", "timer")
    tb.sync_start(11, "d1", "push")
    tb.recv(13, "d1", "r1", 2)
    assert result(tb).verdict == "fail"


def test_every_bad_recv_is_listed():
    tb = base()
    s = tb.sync_start(10, "d1", "timer")
    tb.recv(11, "d1", "r1", 2).recv(11, "d1", "r2", 2).sync_end(12, "d1", s).recv(20, "d2", "r3", 1)
    r = result(tb)
    assert [(v.t, v.dev) for v in r.violations] == [(11, "d1"), (11, "d1"), (20, "d2")]


def test_no_recv_is_na():
    tb = base()
    tb.sync(10, "d1", "timer")
    assert result(tb).verdict == "n/a"
