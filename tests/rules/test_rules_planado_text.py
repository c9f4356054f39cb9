"""planado.text_flows and planado.sync_uploads_all on hand-written stories (rules.md)."""

from __future__ import annotations

import pytest
from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

FLOWS = "planado.text_flows"
UPLOADS = "planado.sync_uploads_all"
ACK = 160  # text_ack_s
EPS = 1e-6


# -- planado.text_flows -----------------------------------------------------------------------


def test_flows_passes_for_text_and_status_edits():
    tb = up(TraceBuilder(), cls="edge")
    c1 = tb.edit(10, "d1", "r1", "text")
    c2 = tb.edit(11, "d1", "r1", "status", status="started")
    tb.ack(50, "d1", c1).ack(60, "d1", c2)
    r = result(tail(tb), FLOWS)
    assert r.verdict == "pass" and r.judged == 2


def test_flows_fails_when_not_acked_and_names_the_change():
    tb = up(TraceBuilder(), cls="gprs")
    c1 = tb.edit(10, "d1", "r1")
    (v,) = result(tail(tb), FLOWS).violations
    assert (v.t, v.dev) == (10, "d1") and c1 in v.message and "170" in v.message


@pytest.mark.parametrize(("at", "verdict"), [(10 + ACK, "pass"), (10 + ACK + EPS, "fail")])
def test_flows_boundary(at, verdict):
    tb = up(TraceBuilder())
    c1 = tb.edit(10, "d1", "r1")
    tb.ack(at, "d1", c1)
    assert result(tail(tb), FLOWS).verdict == verdict


def test_flows_photos_are_not_judged():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1", "photo")
    assert result(tail(tb), FLOWS).verdict == "n/a"


def test_flows_edits_offline_or_closed_are_not_judged():
    tb = TraceBuilder()
    tb.app(0, "d1", "opened").edit(10, "d1", "r1")  # offline
    tb.link(0, "d2", "wifi")
    tb.edit(10, "d2", "r2")  # app closed
    tb.link(20, "d1", "wifi").app(20, "d2", "opened")
    assert result(tail(tb), FLOWS).verdict == "n/a"


@pytest.mark.parametrize("cut", ["offline", "closed"])
def test_flows_cut_by_going_offline_or_closing(cut):
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    if cut == "offline":
        tb.link(100, "d1", "offline")
    else:
        tb.app(100, "d1", "closed")
    assert result(tail(tb), FLOWS).verdict == "n/a"


def test_flows_class_changes_and_minimizing_do_not_cut():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.link(50, "d1", "2g").app(60, "d1", "minimized").link(70, "d1", "lte")
    (v,) = result(tail(tb), FLOWS).violations
    assert v.t == 10


@pytest.mark.parametrize(("end", "verdict"), [(10 + ACK - EPS, "n/a"), (10 + ACK, "fail")])
def test_flows_cut_by_trace_end(end, verdict):
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1")
    tb.link(end, "d2", "wifi")
    assert result(tb, FLOWS).verdict == verdict


def test_flows_lists_every_violation():
    tb = up(up(TraceBuilder()), dev="d2")
    c1 = tb.edit(10, "d1", "r1")
    tb.edit(20, "d1", "r2")
    tb.edit(30, "d2", "r3")
    tb.ack(40, "d1", c1)
    r = result(tail(tb), FLOWS)
    assert sorted((v.t, v.dev) for v in r.violations) == [(20, "d1"), (30, "d2")]
    assert r.judged == 3


def test_flows_text_ack_s_parameter():
    tb = up(TraceBuilder())
    c1 = tb.edit(10, "d1", "r1")
    tb.ack(50, "d1", c1)
    assert result(tail(tb), FLOWS, text_ack_s=39).verdict == "fail"
    assert result(tail(tb), FLOWS, text_ack_s=40).verdict == "pass"


# -- planado.sync_uploads_all -----------------------------------------------------------------


def test_uploads_passes_when_the_sync_acks_every_earlier_edit():
    tb = up(TraceBuilder())
    c1 = tb.edit(1, "d1", "r1")
    c2 = tb.edit(2, "d1", "r2", "status")
    sid = tb.sync_start(3, "d1", "timer")
    tb.ack(4, "d1", c1).ack(4, "d1", c2)
    tb.sync_end(5, "d1", sid)
    r = result(tail(tb), UPLOADS)
    assert r.verdict == "pass" and r.judged == 1


def test_uploads_fails_and_names_sync_and_changes():
    tb = up(TraceBuilder())
    c1 = tb.edit(1, "d1", "r1")
    sid = tb.sync(3, "d1", "timer", end=5)
    (v,) = result(tail(tb), UPLOADS).violations
    assert (v.t, v.dev) == (5, "d1") and sid in v.message and c1 in v.message


def test_uploads_ack_after_sync_end_is_too_late():
    tb = up(TraceBuilder())
    c1 = tb.edit(1, "d1", "r1")
    sid = tb.sync_start(3, "d1", "timer")
    tb.sync_end(5, "d1", sid).ack(5, "d1", c1)  # same t, but after the sync_end
    assert result(tail(tb), UPLOADS).verdict == "fail"
    tb2 = up(TraceBuilder())
    c1 = tb2.edit(1, "d1", "r1")
    sid = tb2.sync_start(3, "d1", "timer")
    tb2.ack(5, "d1", c1).sync_end(5, "d1", sid)
    assert result(tail(tb2), UPLOADS).verdict == "pass"


def test_uploads_edits_after_sync_start_are_not_required():
    tb = up(TraceBuilder())
    sid = tb.sync_start(3, "d1", "timer")
    tb.edit(3, "d1", "r1")  # same t, after the sync_start
    tb.edit(4, "d1", "r2")
    tb.sync_end(5, "d1", sid)
    assert result(tail(tb), UPLOADS).verdict == "pass"
    tb2 = up(TraceBuilder())
    tb2.edit(3, "d1", "r1")  # same t, before the sync_start
    tb2.sync(3, "d1", "timer", end=5)
    assert result(tail(tb2), UPLOADS).verdict == "fail"


def test_uploads_photos_are_not_required():
    tb = up(TraceBuilder())
    tb.edit(1, "d1", "r1", "photo")
    tb.sync(3, "d1", "timer", end=5)
    assert result(tail(tb), UPLOADS).verdict == "pass"


def test_uploads_failed_syncs_are_not_judged():
    tb = up(TraceBuilder())
    tb.edit(1, "d1", "r1")
    tb.sync(3, "d1", "timer", end=5, ok=False)
    assert result(tail(tb), UPLOADS).verdict == "n/a"


def test_uploads_na_without_a_finished_sync():
    tb = up(TraceBuilder())
    tb.edit(1, "d1", "r1")
    tb.sync_start(3, "d1", "timer")  # never ends: cut by the trace end
    assert result(tail(tb), UPLOADS).verdict == "n/a"


def test_uploads_edits_of_other_devices_do_not_count():
    tb = up(up(TraceBuilder()), dev="d2")
    tb.edit(1, "d2", "r1")
    tb.sync(3, "d1", "timer", end=5)
    assert result(tail(tb), UPLOADS).verdict == "pass"


def test_uploads_lists_every_sync_and_shortens_long_lists():
    tb = up(TraceBuilder())
    for k in range(5):
        tb.edit(k, "d1", f"r{k}")
    tb.sync(10, "d1", "timer", end=11)
    tb.sync(20, "d1", "timer", end=21)
    r = result(tail(tb), UPLOADS)
    assert [v.t for v in r.violations] == [11, 21]
    assert "and 2 more" in r.violations[0].message


def test_uploads_overlapping_syncs_use_their_own_start():
    tb = up(TraceBuilder())
    a = tb.sync_start(1, "d1", "timer")
    c1 = tb.edit(2, "d1", "r1")
    b = tb.sync_start(3, "d1", "manual")
    tb.sync_end(4, "d1", a)  # c1 came after a's start: not required
    tb.sync_end(5, "d1", b)  # required for b
    (v,) = result(tail(tb), UPLOADS).violations
    assert v.t == 5 and b in v.message and c1 in v.message


def test_flows_message_says_not_acked():
    tb = up(TraceBuilder())
    c1 = tb.edit(10, "d1", "r1")
    (v,) = result(tail(tb), FLOWS).violations
    assert v.message == f"{c1} edited at 10 online was not acked by 170"


def test_uploads_three_missing_are_all_named():
    tb = up(TraceBuilder())
    cs = [tb.edit(k, "d1", f"r{k}") for k in range(3)]
    sid = tb.sync(10, "d1", "timer", end=11)
    (v,) = result(tail(tb), UPLOADS).violations
    assert v.message == f"sync {sid} ended ok at 11 with {', '.join(cs)} unacked"
