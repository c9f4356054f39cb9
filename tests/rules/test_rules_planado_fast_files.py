"""planado.fast_files on hand-written traces (spec/rules.md): one file per rule."""

from __future__ import annotations

import pytest
from rules_helpers import result, tail, up

from bench.testing import TraceBuilder

FAST = "planado.fast_files"
FILES = 160  # files_s default
EPS = 1e-6


def test_fast_passes_when_photo_and_attachment_start_on_fast_link():
    tb = up(TraceBuilder())
    p = tb.edit(10, "d1", "r1", "photo")
    tb.file_start(20, "d1", p).file_end(30, "d1", p)
    tb.dispatch(40, "attach", "r1", "d1", file="f1")
    tb.file_start(50, "d1", "f1", "down").file_end(51, "d1", "f1", "down")
    r = result(tail(tb), FAST)
    assert r.verdict == "pass" and r.judged == 2


def test_fast_fails_when_photo_waits_too_long():
    tb = up(TraceBuilder())
    p = tb.edit(10, "d1", "r1", "photo")
    tb.file_start(200, "d1", p)
    (v,) = result(tail(tb), FAST).violations
    assert (v.t, v.dev) == (10, "d1") and p in v.message and "170" in v.message


def test_fast_fails_when_attachment_is_not_downloaded():
    tb = up(TraceBuilder())
    tb.dispatch(5, "attach", "r1", "d1", file="f9")
    (v,) = result(tail(tb), FAST).violations
    assert (v.t, v.dev) == (5, "d1") and "f9" in v.message and "download" in v.message


@pytest.mark.parametrize(("start", "verdict"), [(10 + FILES, "pass"), (10 + FILES + EPS, "fail")])
def test_fast_boundary(start, verdict):
    tb = up(TraceBuilder())
    p = tb.edit(10, "d1", "r1", "photo")
    tb.file_start(start, "d1", p)
    assert result(tail(tb), FAST).verdict == verdict


@pytest.mark.parametrize(("start", "verdict"), [(100 + FILES, "pass"), (100 + FILES + EPS, "fail")])
def test_fast_r_is_when_the_link_becomes_fast(start, verdict):
    tb = up(TraceBuilder(), cls="edge")
    p = tb.edit(10, "d1", "r1", "photo")
    tb.link(100, "d1", "3g")
    tb.file_start(start, "d1", p)
    r = result(tail(tb), FAST)
    assert r.verdict == verdict
    assert [v.t for v in r.violations] == ([100] if verdict == "fail" else [])


def test_fast_r_is_when_the_app_starts_running():
    tb = TraceBuilder()
    tb.link(0, "d1", "wifi")
    p = tb.edit(10, "d1", "r1", "photo")
    tb.app(50, "d1", "opened")
    tb.file_start(50 + FILES + 1, "d1", p)
    (v,) = result(tail(tb), FAST).violations
    assert v.t == 50


def test_fast_completion_in_window_passes():
    tb = up(TraceBuilder())
    p = tb.edit(10, "d1", "r1", "photo")
    tb.ack(20, "d1", p)  # the server confirmed it (e.g. sent inline): done
    assert result(tail(tb), FAST).verdict == "pass"


def test_fast_upload_acked_before_ever_fast_is_not_judged():
    tb = up(TraceBuilder(), cls="edge")
    p = tb.edit(10, "d1", "r1", "photo")
    tb.ack(20, "d1", p)
    tb.link(30, "d1", "wifi")
    assert result(tail(tb), FAST).verdict == "n/a"


def test_fast_upload_done_before_ever_fast_is_not_judged():
    tb = up(TraceBuilder(), cls="2g")
    p = tb.edit(10, "d1", "r1", "photo")
    tb.file_start(11, "d1", p).file_end(20, "d1", p)
    tb.link(30, "d1", "wifi")
    assert result(tail(tb), FAST).verdict == "n/a"


def test_fast_in_transfer_when_fast_is_not_r():
    tb = up(TraceBuilder(), cls="edge")
    p = tb.edit(10, "d1", "r1", "photo")
    tb.file_start(11, "d1", p)
    tb.link(20, "d1", "wifi")
    tb.file_end(500, "d1", p)  # in transfer all along, then done
    assert result(tail(tb), FAST).verdict == "n/a"


def test_fast_cut_by_turning_slow():
    tb = up(TraceBuilder())
    p = tb.edit(10, "d1", "r1", "photo")
    tb.link(100, "d1", "edge")
    tb.link(120, "d1", "wifi")  # r was the first such time: not judged again
    tb.file_start(400, "d1", p)
    assert result(tail(tb), FAST).verdict == "n/a"


def test_fast_cut_by_going_offline_and_by_closing_the_app():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1", "photo")
    tb.link(100, "d1", "offline")
    assert result(tail(tb), FAST).verdict == "n/a"
    tb2 = up(TraceBuilder())
    tb2.edit(10, "d1", "r1", "photo")
    tb2.app(100, "d1", "closed")
    assert result(tail(tb2), FAST).verdict == "n/a"


def test_fast_minimized_still_running():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1", "photo")
    tb.app(100, "d1", "minimized")
    assert result(tail(tb), FAST).verdict == "fail"


@pytest.mark.parametrize(("end", "verdict"), [(10 + FILES - EPS, "n/a"), (10 + FILES, "fail")])
def test_fast_cut_by_trace_end(end, verdict):
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1", "photo")
    tb.link(end, "d1", "lte")
    assert result(tb, FAST).verdict == verdict


def test_fast_failed_transfer_restarts_r_at_its_file_end():
    tb = up(TraceBuilder())
    p = tb.edit(10, "d1", "r1", "photo")
    tb.file_start(20, "d1", p).file_end(60, "d1", p, ok=False)
    tb.file_start(60 + FILES, "d1", p).file_end(60 + FILES + 5, "d1", p)
    r = result(tail(tb), FAST)
    assert r.verdict == "pass"
    tb2 = up(TraceBuilder(), cls="edge")
    p = tb2.edit(10, "d1", "r1", "photo")
    tb2.file_start(11, "d1", p)  # (a slow_no_files failure, not this rule's)
    tb2.link(20, "d1", "wifi")
    tb2.file_end(60, "d1", p, ok=False)
    (v,) = result(tail(tb2), FAST).violations
    assert v.t == 60


def test_fast_download_of_an_attach_to_the_device():
    tb = up(up(TraceBuilder()), dev="d2")
    tb.dispatch(1, "create", "r1", "d1")
    tb.dispatch(5, "attach", "r1", "d1", file="f1")
    tb.file_start(100, "d1", "f1", "down")
    tb.file_start(101, "d2", "f1", "down")  # another device's download does not count
    r = result(tail(tb), FAST)
    assert r.verdict == "pass" and r.judged == 1


def test_fast_attach_to_another_device_not_judged_for_this_one():
    tb = up(up(TraceBuilder()), dev="d2")
    tb.dispatch(5, "attach", "r1", "d2", file="f1")
    tb.file_start(10, "d2", "f1", "down")
    r = result(tail(tb), FAST)
    assert r.verdict == "pass" and r.judged == 1
    tb2 = up(up(TraceBuilder()), dev="d2")
    tb2.dispatch(5, "attach", "r1", "d2", file="f1")
    tb2.file_start(10, "d1", "f1", "down")  # d1 downloading it helps nobody
    (v,) = result(tail(tb2), FAST).violations
    assert v.dev == "d2"
    tb3 = up(TraceBuilder())
    tb3.dispatch(5, "attach", "r1", None, file="f1")  # assigned to nobody
    assert result(tail(tb3), FAST).verdict == "n/a"


def test_fast_upload_and_download_with_the_same_id_are_distinct():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1", "photo", change="x")
    tb.dispatch(10, "attach", "r1", "d1", file="x")
    tb.file_start(20, "d1", "x", "down")
    (v,) = result(tail(tb), FAST).violations
    assert "upload x" in v.message


def test_fast_lists_every_file():
    tb = up(TraceBuilder())
    tb.edit(10, "d1", "r1", "photo")
    tb.edit(11, "d1", "r2", "photo")
    tb.dispatch(12, "attach", "r1", "d1", file="f1")
    r = result(tail(tb), FAST)
    assert [v.t for v in r.violations] == [10, 11, 12]


def test_fast_download_cut_when_the_record_is_reassigned():
    tb = up(up(TraceBuilder()), dev="d2")
    tb.dispatch(5, "attach", "r1", "d1", file="f1")
    tb.dispatch(100, "assign", "r1", "d2")  # d1 no longer owes f1
    assert result(tail(tb), FAST).verdict == "n/a"
    tb.dispatch(150, "status", "r1", "d2", status="started")
    tb.dispatch(200, "assign", "r1", "d1")  # back to d1: the old attach is not owed again
    assert result(tail(tb), FAST).verdict == "n/a"


def test_fast_download_kept_while_the_record_stays_assigned():
    tb = up(TraceBuilder())
    tb.dispatch(5, "attach", "r1", "d1", file="f1")
    tb.dispatch(100, "status", "r1", "d1", status="started")
    (v,) = result(tail(tb), FAST).violations
    assert v.t == 5 and "f1" in v.message


def test_fast_only_attach_dispatches_owe_a_download():
    tb = up(TraceBuilder())
    tb.dispatch(5, "status", "r1", "d1", status="started", file="f1")  # a file field, not an attach
    assert result(tail(tb), FAST).verdict == "n/a"


def test_fast_failed_transfer_on_a_slow_link_is_not_r():
    tb = up(TraceBuilder(), cls="edge")
    p = tb.edit(10, "d1", "r1", "photo")
    tb.file_start(11, "d1", p).file_end(20, "d1", p, ok=False)  # still slow: not fast
    assert result(tail(tb), FAST).verdict == "n/a"


def test_fast_message_says_what_did_not_happen():
    tb = up(TraceBuilder())
    p = tb.edit(10, "d1", "r1", "photo")
    (v,) = result(tail(tb), FAST).violations
    assert v.message == f"photo upload {p} not started between 10 and 170 on a fast link"
