"""The reader forgives real exports and never hides a failure (docs/checking.md)."""

from __future__ import annotations

import json

from bench.cli import main
from bench.trace import TraceReader

T0 = 1_764_750_000.0  # a wall-clock second


def _lines(*events) -> list[bytes]:
    return [json.dumps(e).encode() for e in events]


def test_epoch_seconds_are_rebased_on_the_first_event_with_precision_kept():
    r = TraceReader(_lines({"ev": "link", "t": T0 + 0.25, "dev": "d1", "class": "wifi"},
                           {"ev": "last_sync", "t": T0 + 12.3456, "dev": "d1", "at": T0 + 10.5}))
    evs = list(r)
    assert [e["t"] for e in evs] == [0.0, 12.0956] and evs[1]["at"] == 10.25
    assert any("wall-clock seconds" in n for n in r.notices)


def test_epoch_milliseconds_and_the_meta_epoch():
    meta = {"ev": "meta", "schema": "syncbench.trace/1", "epoch": T0}
    r = TraceReader(_lines(meta, {"ev": "link", "t": (T0 + 2) * 1000 + 1, "dev": "d1", "class": "lte"}))
    (ev,) = list(r)
    assert ev["t"] == 2.001  # on the meta's epoch, to the millisecond
    assert any("milliseconds" in n and "meta epoch" in n for n in r.notices)


def test_aliases_are_mapped_with_a_notice():
    r = TraceReader(_lines({"ev": "link", "t": 0, "dev": "d1", "class": "4G"},
                           {"ev": "app", "t": 1, "dev": "d1", "state": "background"},
                           {"ev": "app", "t": 2, "dev": "d1", "state": "background"},
                           {"ev": "file_start", "t": 3, "dev": "d1", "file": "f", "dir": "upload",
                            "bytes": 1}))
    evs = list(r)
    assert [e.get("class") or e.get("state") or e.get("dir") for e in evs] == \
        ["lte", "minimized", "minimized", "up"]
    assert "state 'background' read as 'minimized' (2 times)" in r.notices
    assert "class '4G' read as 'lte'" in r.notices


def test_a_sync_end_before_its_own_acks_at_the_same_instant_is_read_after_them():
    r = TraceReader(_lines(
        {"ev": "link", "t": 0, "dev": "d1", "class": "wifi"},
        {"ev": "edit", "t": 1, "dev": "d1", "change": "c1", "record": "r", "kind": "text"},
        {"ev": "sync_start", "t": 1.5, "dev": "d1", "sync": "s1", "trigger": "save"},
        {"ev": "sync_end", "t": 2.0, "dev": "d1", "sync": "s1", "ok": True},
        {"ev": "ack", "t": 2.0, "dev": "d1", "change": "c1"},
        {"ev": "recv", "t": 2.0, "dev": "d1", "record": "r", "version": 2, "sync": "s1"},
        {"ev": "sync_start", "t": 2.0, "dev": "d1", "sync": "s2", "trigger": "timer"}))
    assert [e["ev"] for e in r][3:] == ["ack", "recv", "sync_end", "sync_start"]
    assert any(n.startswith("same instant") for n in r.notices)


def test_another_devices_event_or_a_later_instant_is_not_reordered():
    r = TraceReader(_lines(
        {"ev": "sync_end", "t": 2.0, "dev": "d1", "sync": "s1", "ok": True},
        {"ev": "ack", "t": 2.0, "dev": "d2", "change": "c1"},
        {"ev": "ack", "t": 2.5, "dev": "d1", "change": "c2"}))
    assert [(e["ev"], e["dev"]) for e in r] == [("sync_end", "d1"), ("ack", "d2"), ("ack", "d1")]


def test_check_says_what_it_forgave_and_the_verdict_stands(tmp_path, capsys):
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\n".join(_lines(
        {"ev": "meta", "schema": "syncbench.trace/1", "policy": "playmaker", "settled": True},
        {"ev": "link", "t": T0 * 1000, "dev": "d1", "class": "4g"},
        {"ev": "app", "t": T0 * 1000, "dev": "d1", "state": "foreground"},
        {"ev": "edit", "t": T0 * 1000 + 1000, "dev": "d1", "change": "c1", "record": "r",
         "kind": "text"},
        {"ev": "sync_start", "t": T0 * 1000 + 1200, "dev": "d1", "sync": "s1", "trigger": "save"},
        {"ev": "sync_end", "t": T0 * 1000 + 1500, "dev": "d1", "sync": "s1", "ok": True},
        {"ev": "ack", "t": T0 * 1000 + 1500, "dev": "d1", "change": "c1"})) + b"\n")
    code = main(["check", str(path), "--json"])
    out, err = capsys.readouterr()
    rules = {r["id"]: r["verdict"] for r in json.loads(out)["rules"]}
    assert code == 0 and rules["playmaker.upload_on_save"] == "pass"
    assert "notice" in err and "milliseconds" in err and "'4g' read as 'lte'" in err
