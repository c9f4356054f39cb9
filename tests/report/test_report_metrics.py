"""trace_metrics: each metric on a small trace with a known answer."""

from __future__ import annotations

import pytest
from report_stories import failing_story

from bench.report import MetricsBuilder, trace_metrics
from bench.report.samples import RESERVOIR_CAPACITY
from bench.testing import TraceBuilder
from bench.trace import TraceError


def metrics(tb: TraceBuilder) -> dict:
    return MetricsBuilder().feed_all(tb.sorted_events()).result()


def test_sync_intervals_by_link_class_and_syncs_per_running_hour():
    tb = TraceBuilder()
    tb.link(0, "d1", "wifi").app(0, "d1", "opened")
    tb.sync(0, "d1", "open")
    tb.sync(100, "d1", "timer")
    tb.link(200, "d1", "edge")
    tb.sync(250, "d1", "timer")
    tb.app(1800, "d1", "closed")
    tb.link(3000, "d1", "wifi")  # closed: not running time
    tb.app(3600, "d1", "opened")
    tb.sync(3601, "d1", "open")  # no interval across the closed stretch
    tb.app(5400, "d1", "closed")
    m = metrics(tb)
    si = m["sync_interval_s"]
    assert si["count"] == 2 and si["p50"] == 125.0
    assert si["by_class"]["wifi"]["max"] == 100 and si["by_class"]["edge"]["max"] == 150
    assert m["device_hours"] == 1.0
    assert m["sync"]["per_device_hour"] == 4.0
    assert m["sync"]["by_trigger"] == {"open": 2, "timer": 2}
    assert m["sync"]["by_class"] == {"edge": 1, "wifi": 3}
    assert m["key"]["syncs_per_device_hour"] == 4.0
    assert [c[0] for c in m["cdf"]["sync_interval_s"]["edge"]] == [150]


def test_device_without_app_events_counts_its_span():
    tb = TraceBuilder()
    tb.link(0, "d1", "lte")
    tb.sync(0, "d1", "timer")
    tb.sync(3599, "d1", "timer")
    m = metrics(tb)
    assert m["device_hours"] == 1.0 and m["sync"]["per_device_hour"] == 2.0


def test_failed_sync_ratio():
    tb = TraceBuilder()
    for i in range(4):
        tb.sync(i * 10, "d1", "timer", ok=i != 2)
    m = metrics(tb)
    assert m["sync"]["failed"] == 1 and m["sync"]["failed_ratio"] == 0.25
    assert m["key"]["failed_sync_ratio"] == 0.25


def test_staleness_waits_for_the_dispatched_version_and_uses_the_class_at_the_change():
    tb = TraceBuilder()
    tb.link(0, "d1", "3g")
    tb.dispatch(10, "create", "r1", "d1", version=2)
    tb.recv(12, "d1", "r1", 1)          # older version: not yet
    tb.link(20, "d1", "wifi")
    tb.recv(40, "d1", "r1", 2)          # 30 s after the change, which happened on 3g
    tb.dispatch(50, "edit", "r1", "d1")  # no version: any later recv counts
    tb.recv(55, "d1", "r1", 2)
    m = metrics(tb)["staleness_s"]
    assert m["count"] == 2 and m["by_class"]["3g"]["max"] == 30 and m["by_class"]["wifi"]["max"] == 5
    assert m["pending"] == 0


def test_staleness_dropped_on_reassignment_and_pending_when_never_received():
    tb = TraceBuilder()
    tb.link(0, "d1", "wifi").link(0, "d2", "wifi")
    tb.dispatch(50, "create", "r2", "d2", version=1)
    tb.dispatch(60, "assign", "r2", "d1", version=2)
    tb.recv(65, "d2", "r2", 2)   # d2 no longer waits for it
    tb.recv(70, "d1", "r2", 2)
    tb.dispatch(80, "create", "r3", "d2", version=1)
    m = metrics(tb)["staleness_s"]
    assert m["count"] == 1 and m["max"] == 10
    assert m["dropped"] == 1 and m["pending"] == 1


def test_upload_delay_by_class_at_edit_time_and_kind():
    tb = TraceBuilder()
    tb.link(0, "d1", "edge")
    c1 = tb.edit(0, "d1", "r1", "text")
    tb.link(5, "d1", "wifi")
    tb.ack(20, "d1", c1)
    c2 = tb.edit(30, "d1", "r1", "photo")
    tb.ack(33, "d1", c2)
    tb.edit(40, "d1", "r1", "status")  # never acked
    m = metrics(tb)
    u = m["upload_delay_s"]
    assert u["by_class"]["edge"]["max"] == 20 and u["by_class"]["wifi"]["max"] == 3
    assert u["pending"] == 1
    assert u["by_kind"]["photo"]["max"] == 3 and u["by_kind"]["text"]["max"] == 20
    assert m["key"]["upload_delay_p50_s"] == 11.5
    assert m["unsent"]["true_max"] == 1


def test_push_delay_undelivered_and_unmatched():
    tb = TraceBuilder()
    tb.link(0, "d1", "lte")
    tb.srv_push(10, "d1", "r1").push(12.5, "d1", "r1")
    tb.srv_push(20, "d1", "r2")
    tb.push(30, "d1", "r9")
    m = metrics(tb)["push_delay_s"]
    assert (m["count"], m["max"], m["undelivered"], m["unmatched"]) == (1, 2.5, 1, 1)


def test_bytes_by_class_at_transfer_start_and_direction():
    tb = TraceBuilder()
    tb.link(0, "d1", "3g")
    tb.file_start(1, "d1", "p1", "up", 1000)
    tb.link(2, "d1", "wifi")
    tb.file_end(3, "d1", "p1", "up", True)             # no bytes: the started size, on 3g
    tb.file_start(4, "d1", "f1", "down", 900)
    tb.file_end(5, "d1", "f1", "down", False, bytes=300)  # failed part-way: what moved
    tb.file_start(6, "d1", "f2", "down", 900)
    tb.file_end(7, "d1", "f2", "down", False)           # failed, size unknown: nothing counted
    b = metrics(tb)["bytes"]
    assert b["by_class"] == {"3g": {"up": 1000, "down": 0}, "wifi": {"up": 0, "down": 300}}
    assert b["total"] == {"up": 1000, "down": 300}
    assert b["files_by_class"]["wifi"]["down"] == 2


def test_unsent_shown_over_time_sums_devices():
    tb = TraceBuilder()
    tb.unsent(10, "d1", 2).unsent(20, "d2", 3).unsent(30, "d1", 0)
    u = metrics(tb)["unsent"]
    assert u["shown_max"] == 5
    assert [p[1] for p in u["shown_series"]] == [2, 5, 3]


def test_raw_samples_stay_bounded_on_a_long_trace():
    mb = MetricsBuilder()
    for i in range(3 * RESERVOIR_CAPACITY):
        mb.feed({"ev": "sync_start", "t": float(i), "dev": "d1", "sync": f"s{i}", "trigger": "timer"})
    assert len(mb.dist["sync_interval_s"].all.sorted()) == RESERVOIR_CAPACITY
    m = mb.result()
    assert m["sync_interval_s"]["count"] == 3 * RESERVOIR_CAPACITY - 1
    assert len(m["sync_starts_series"]["buckets"]) <= 512


def test_open_trigger_vocabulary_is_capped():
    from bench.report.metrics import MAX_TRIGGERS, OTHER_TRIGGER

    mb = MetricsBuilder()
    for i in range(MAX_TRIGGERS + 10):
        mb.feed({"ev": "sync_start", "t": float(i), "dev": "d1", "sync": f"s{i}", "trigger": f"x{i}"})
    by = mb.result()["sync"]["by_trigger"]
    assert len(by) == MAX_TRIGGERS + 1 and by[OTHER_TRIGGER] == 10


def test_trace_metrics_reads_a_file_and_rejects_a_malformed_one(tmp_path):
    path = failing_story().write(tmp_path / "t.jsonl")
    m = trace_metrics(path)
    assert m["devices"] == 2 and m["events"] > 20 and m["schema"] == "syncbench.metrics/1"
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(path.read_bytes() + b"{not json\n")
    with pytest.raises(TraceError, match=r"bad.jsonl:\d+: not JSON"):
        trace_metrics(bad)
