"""planado.sync_uploads_all on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

UPLOADS = "planado.sync_uploads_all"




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


def test_uploads_overlapping_syncs_ending_in_any_order_and_a_repeated_start():
    """Each sync is held to the edits before its own (latest) sync_start, however
    syncs overlap, end or repeat; an end seen twice is judged once."""
    tb = up(TraceBuilder())
    a = tb.sync_start(1, "d1", "timer")
    b = tb.sync_start(2, "d1", "manual")
    c1 = tb.edit(3, "d1", "r1")
    c = tb.sync_start(4, "d1", "push")  # c1 is required for c only
    tb.sync_end(5, "d1", b)  # ends before a: passes
    tb.sync_end(6, "d1", a)  # passes
    tb.sync_start(7, "d1", "push", sync=b)  # b again: held to c1 now
    tb.sync_end(8, "d1", b)
    tb.sync_end(9, "d1", b)  # its start was used up: not judged
    tb.ack(10, "d1", c1)
    tb.sync_end(11, "d1", c)  # c1 was acked at 10: passes
    r = result(tail(tb), UPLOADS)
    (v,) = r.violations
    assert v.t == 8 and b in v.message and c1 in v.message
    assert r.judged == 4


def test_uploads_a_sync_started_again_counts_from_its_latest_start():
    tb = up(TraceBuilder())
    a = tb.sync_start(1, "d1", "timer")
    c1 = tb.edit(2, "d1", "r1")
    tb.sync_start(3, "d1", "timer", sync=a)
    tb.sync_end(4, "d1", a)
    (v,) = result(tail(tb), UPLOADS).violations
    assert v.t == 4 and c1 in v.message


def test_uploads_three_missing_are_all_named():
    tb = up(TraceBuilder())
    cs = [tb.edit(k, "d1", f"r{k}") for k in range(3)]
    sid = tb.sync(10, "d1", "timer", end=11)
    (v,) = result(tail(tb), UPLOADS).violations
    assert v.message == f"sync {sid} ended ok at 11 with {', '.join(cs)} unacked"
