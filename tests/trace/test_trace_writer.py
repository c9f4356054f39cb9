"""The trace writer: canonical events, byte-for-byte determinism, round trip
through the reader, and a stable merge of several producers."""

from __future__ import annotations

import io

from bench.trace import SCHEMA, TraceWriter, dumps, event, merge, meta, read_trace, write_trace
from bench.trace.reader import TraceReader


def test_event_key_order_and_class_alias():
    ev = event("link", 1, "d1", class_="wifi")
    assert list(ev) == ["ev", "t", "dev", "class"]
    assert dumps(ev) == b'{"ev":"link","t":1,"dev":"d1","class":"wifi"}\n'


def test_none_optional_fields_are_dropped_but_nullable_ones_kept():
    assert "via" not in event("manual", 1, "d1", via=None)
    assert event("last_sync", 1, "d1", at=None)["at"] is None
    ev = event("dispatch", 1, op="unassign", record="r1", assignee=None)
    assert "dev" not in ev and ev["assignee"] is None


def test_t_is_rounded_to_the_microsecond():
    assert event("manual", 0.1 + 0.2, "d1")["t"] == 0.3
    assert event("manual", 1.23456789, "d1")["t"] == 1.234568


def test_meta_carries_the_schema_and_only_given_fields():
    m = meta("planado", settled=True, seed=7, params={"respond_s": 10})
    assert m == {"ev": "meta", "schema": SCHEMA, "policy": "planado", "settled": True, "seed": 7,
                 "params": {"respond_s": 10}}
    assert meta() == {"ev": "meta", "schema": SCHEMA}


def _story():
    return [meta("playmaker", settled=False, seed=3), event("link", 0, "d1", class_="edge"),
            event("sync_start", 1.5, "d1", sync="s1", trigger="manual"),
            event("sync_end", 2, "d1", sync="s1", ok=True, error=None),
            event("snapshot", 3, "d1", records={"r1": 2})]


def test_round_trip_through_the_reader(tmp_path):
    path = tmp_path / "t.jsonl"
    assert write_trace(path, _story()) == 5
    reader = TraceReader(str(path))
    events = list(reader)
    assert reader.meta["policy"] == "playmaker"
    assert events == _story()[1:]


def test_same_events_give_the_same_bytes(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_trace(a, _story())
    write_trace(b, _story())
    assert a.read_bytes() == b.read_bytes()


def test_writer_on_a_stream_is_not_closed():
    buf = io.BytesIO()
    with TraceWriter(buf) as w:
        w.write(event("manual", 1, "d1"))
        w.write_all([event("manual", 2, "d1")])
    assert w.count == 2
    assert len(read_trace(io.BytesIO(buf.getvalue()))) == 2
    assert not buf.closed


def test_merge_orders_by_t_and_is_stable_for_ties():
    device = [event("manual", 1, "d1", via="a"), event("manual", 2, "d1", via="b"), event("manual", 2, "d1", via="c")]
    server = [event("srv_push", 0, "d1", record="r"), event("srv_push", 2, "d1", record="x"),
              event("srv_push", 3, "d1", record="y")]
    out = list(merge(device, server))
    assert [e["t"] for e in out] == [0, 1, 2, 2, 2, 3]
    # equal t: the first stream's events first, each stream in its own order
    assert [e.get("via") or e.get("record") for e in out if e["t"] == 2] == ["b", "c", "x"]


def test_merge_of_many_streams_with_equal_t_never_compares_events():
    streams = [[event("manual", 1, f"d{i}"), event("manual", 1, f"d{i}")] for i in range(4)]
    out = list(merge(*streams))
    assert [e["dev"] for e in out] == ["d0", "d0", "d1", "d1", "d2", "d2", "d3", "d3"]
