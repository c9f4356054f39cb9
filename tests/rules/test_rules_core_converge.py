"""core.converge: "When settled: the device's last snapshot equals the server's
last srv_snapshot for it. Without both: n/a."

No time window: judged on the last snapshots of the whole trace.
"""

from __future__ import annotations

from bench.testing import TraceBuilder

RULE = "core.converge"


def result(tb: TraceBuilder):
    return tb.results()[RULE]


def test_equal_views_pass():
    tb = TraceBuilder("planado", settled=True)
    tb.snapshot(10, "d1", {"r1": 2, "r2": 1}).srv_snapshot(10, "d1", {"r2": 1, "r1": 2})
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_different_version_fails_naming_the_record():
    tb = TraceBuilder("planado", settled=True)
    tb.snapshot(10, "d1", {"r1": 2, "r2": 1}).srv_snapshot(11, "d1", {"r1": 3, "r2": 1})
    (v,) = result(tb).violations
    assert (v.t, v.dev) == (11, "d1")
    assert "snapshot at 10" in v.message and "srv_snapshot at 11" in v.message
    assert "r1: device v2 vs server v3" in v.message and "r2" not in v.message


def test_missing_record_on_either_side_fails():
    tb = TraceBuilder("planado", settled=True)
    tb.snapshot(10, "d1", {"r1": 2}).srv_snapshot(10, "d1", {"r2": 1})
    (v,) = result(tb).violations
    assert "r1: the device still holds v2, outside its scope" in v.message
    assert "r2: the device lacks v1" in v.message


def test_long_differences_are_shortened():
    tb = TraceBuilder("planado", settled=True)
    tb.snapshot(10, "d1", {f"r{i}": 1 for i in range(8)}).srv_snapshot(10, "d1", {})
    (v,) = result(tb).violations
    assert "and 3 more" in v.message


def test_only_the_last_snapshots_count():
    tb = TraceBuilder("planado", settled=True)
    tb.snapshot(5, "d1", {"r1": 1}).srv_snapshot(5, "d1", {"r1": 2})
    tb.snapshot(10, "d1", {"r1": 2}).srv_snapshot(10, "d1", {"r1": 2})
    assert result(tb).verdict == "pass"
    tb.snapshot(20, "d1", {"r1": 3})
    assert result(tb).verdict == "fail"


def test_every_device_is_judged():
    tb = TraceBuilder("planado", settled=True)
    for dev in ("d1", "d2", "d3"):
        tb.snapshot(10, dev, {"r1": 1}).srv_snapshot(10, dev, {"r1": 1 if dev == "d2" else 2})
    r = result(tb)
    assert sorted(v.dev for v in r.violations) == ["d1", "d3"]
    assert r.judged == 3


def test_without_both_snapshots_is_na():
    tb = TraceBuilder("planado", settled=True).snapshot(10, "d1", {"r1": 1}).srv_snapshot(10, "d2", {"r1": 2})
    assert result(tb).verdict == "n/a"
    assert result(TraceBuilder("planado", settled=True).snapshot(10, "d1", {})).verdict == "n/a"


def test_not_settled_is_na():
    for settled in (False, None):
        tb = TraceBuilder("planado", settled=settled)
        tb.snapshot(10, "d1", {"r1": 1}).srv_snapshot(10, "d1", {"r1": 2})
        assert result(tb).verdict == "n/a"


def test_a_record_the_device_synced_past_is_a_server_fault():
    tb = TraceBuilder("planado", settled=True)
    tb.dispatch(5, "edit", "r1", "d1", version=3)
    s = tb.sync_start(8, "d1", "push")
    tb.sync_end(9, "d1", s)
    tb.snapshot(10, "d1", {"r1": 2}).srv_snapshot(11, "d1", {"r1": 3})
    (v,) = result(tb).violations
    assert "server fault" in v.message and "successful sync at 8" in v.message


def test_equal_versions_with_other_values_fail_by_value():
    from bench.rules.core_converge import fields_digest
    from reference_client.engine.store import fields_digest as device_digest

    fields = {"status": "started", "report": "ünïcode", "n": 3, "ok": True, "x": None}
    assert fields_digest(fields) == device_digest(fields)  # one canonical form, two sides
    tb = TraceBuilder("planado", settled=True)
    tb.add("snapshot", 10, "d1", records={"r1": 2}, digests={"r1": device_digest({"a": 1})})
    tb.srv_snapshot(11, "d1", {"r1": 2})
    tb.srv_record(11, "r1", 2, "d1", fields={"a": 1})
    assert result(tb).verdict == "pass"
    tb.srv_record(12, "r1", 2, "d1", fields={"a": 2})
    (v,) = result(tb).violations
    assert "field values differ" in v.message
