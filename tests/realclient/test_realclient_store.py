"""The device's SQLite store: durable engine state, diffed writes, restore."""

from __future__ import annotations

import random

import pytest

from reference_client import Engine, LinkChanged, UserEdit
from reference_client.client.store import DeviceStore
from reference_client.client.trace import TraceWriter, meta_event


def _engine_with_changes() -> Engine:
    eng = Engine(device="w1", rng=random.Random(1))
    eng.handle(LinkChanged(now=0.0, link_class="offline"))
    eng.handle(UserEdit(now=1.0, record="job-1", kind="text", fields={"a": 1}))
    eng.handle(UserEdit(now=2.0, record="job-1", kind="status", status="started"))
    eng.handle(UserEdit(now=3.0, record="job-2", kind="photo", bytes=10, sha256="ab" * 32))
    return eng


def test_save_then_load_restores_the_engine_state(tmp_path):
    eng = _engine_with_changes()
    store = DeviceStore(tmp_path)
    store.save(eng.to_dict(), meta={"epoch": 5.0})
    store.close()
    again = DeviceStore(tmp_path)
    loaded = again.load()
    assert loaded == eng.to_dict()
    assert again.get_meta("epoch") == 5.0
    restored = Engine.from_dict(loaded, start=10.0)
    assert list(restored.store.outbox) == ["w1-c1", "w1-c2", "w1-c3"]
    assert restored.unsent == eng.unsent == 3
    assert list(restored.store.uploads) == ["w1-c3"]


def test_a_save_that_changes_nothing_writes_nothing(tmp_path):
    eng = _engine_with_changes()
    store = DeviceStore(tmp_path)
    store.save(eng.to_dict())
    before = store.db.total_changes
    d = eng.to_dict()
    d["now"] = 99.0  # only the clock moved
    store.save(d)
    assert store.db.total_changes == before
    eng.handle(UserEdit(now=4.0, record="job-1", kind="text", fields={"b": 2}))
    store.save(eng.to_dict())
    # one outbox row, the touched record, the change counter, `now`
    assert 0 < store.db.total_changes - before <= 5


def test_new_store_loads_nothing_and_close_is_final(tmp_path):
    store = DeviceStore(tmp_path / "new")
    assert store.load() is None
    store.close()
    with pytest.raises(ValueError, match="used after close"):
        store.load()


def test_trace_writer_appends_after_a_restart_and_cuts_a_torn_line(tmp_path):
    path = tmp_path / "t.jsonl"
    w = TraceWriter(path, meta=meta_event(policy="planado", seed=1, time_scale=1))
    w.write({"ev": "link", "t": 1.0, "dev": "w1", "class": "wifi"})
    w.close()
    with path.open("a") as f:
        f.write('{"ev":"app","t":2')  # a kill -9 in the middle of a line
    w = TraceWriter(path, meta=meta_event(policy="planado", seed=1, time_scale=1))
    assert w.last_t == 1.0
    with pytest.raises(ValueError, match="earlier"):
        w.write({"ev": "app", "t": 0.5, "dev": "w1", "state": "opened"})
    w.write({"ev": "app", "t": 3.0, "dev": "w1", "state": "opened"})
    w.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith('{"ev":"meta"')
    assert lines[2] == '{"ev":"app","t":3.0,"dev":"w1","state":"opened"}'


def test_a_file_that_is_not_a_store_is_a_one_line_error(tmp_path):
    (tmp_path / "device.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(ValueError, match=r"device.sqlite3: cannot open as a device store"):
        DeviceStore(tmp_path)
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(ValueError, match="cannot open as a device store"):
        DeviceStore(tmp_path / "plain-file")


def test_trace_complete_appends_only_the_events_a_kill_kept_out(tmp_path):
    path = tmp_path / "t.jsonl"
    pending = [{"ev": "edit", "t": 2.0, "dev": "w1", "change": "w1-c1", "record": "r",
                "kind": "text"}, {"ev": "unsent", "t": 2.0, "dev": "w1", "n": 1}]
    w = TraceWriter(path, meta=meta_event(policy="planado", seed=1, time_scale=1))
    w.write({"ev": "link", "t": 1.0, "dev": "w1", "class": "wifi"})
    w.write(pending[0])  # the kill came between the two lines
    w.close()
    w = TraceWriter(path, meta=meta_event(policy="planado", seed=1, time_scale=1))
    assert w.complete(pending) == 1
    assert w.complete(pending) == 0  # idempotent: both are in the file now
    w.close()
    lines = path.read_text().splitlines()
    assert lines[-2:] == ['{"ev":"edit","t":2.0,"dev":"w1","change":"w1-c1","record":"r",'
                          '"kind":"text"}', '{"ev":"unsent","t":2.0,"dev":"w1","n":1}']
