"""The test tool is tested: ModelServer answers in the protocol, ScriptedHarness
keeps time, rates and failures as documented."""

from __future__ import annotations

import random

import pytest
from client_scenarios import harness, starts

from bench.testing.harness import MAX_STEPS, ModelServer, ScriptedHarness
from reference_client import PLANADO, Engine


def change(cid, rid, base=None, **fields):
    return {"change": cid, "record": rid, "kind": "text", "base_version": base,
            "fields": fields or {"a": 1}, "file": None}


def test_server_applies_a_change_once_and_reacks_it():
    srv = ModelServer()
    req = {"device": "w1", "cursor": None, "mode": "upload", "changes": [change("c1", "r1")]}
    first = srv.sync(1.0, req)
    again = srv.sync(2.0, req)
    assert first["acks"] == again["acks"] == [
        {"change": "c1", "record": "r1", "version": 1, "conflict": None}]
    assert [e["ev"] for e in srv.events] == ["srv_apply"]
    assert "records" not in first  # upload mode: acks only
    assert srv.model.records["r1"].assignee == "w1"  # created by the device, owned by its user


def test_server_cursor_scope_and_conflicts():
    srv = ModelServer()
    srv.dispatch(0, "create", "j1", "w1")
    srv.dispatch(0, "create", "j2", "w2")
    full = srv.sync(1, {"device": "w1", "cursor": None, "mode": "full", "changes": []})
    assert [r["id"] for r in full["records"]] == ["j1"]
    empty = srv.sync(2, {"device": "w1", "cursor": full["cursor"], "mode": "full", "changes": []})
    assert empty["records"] == [] and empty["removed"] == []
    srv.dispatch(3, "assign", "j1", "w2")
    moved = srv.sync(4, {"device": "w1", "cursor": full["cursor"], "mode": "download",
                         "changes": []})
    assert moved["removed"] == ["j1"] and moved["records"] == []
    stale = srv.sync(5, {"device": "w2", "cursor": None, "mode": "upload",
                         "changes": [change("c9", "j2", base=0)]})
    assert stale["acks"][0]["conflict"] == "stale base"


def test_server_lists_attachments_with_their_record():
    srv = ModelServer()
    srv.dispatch(0, "create", "j1", "w1")
    srv.dispatch(1, "attach", "j1", "w1", file="f1", bytes=10)
    body = srv.sync(2, {"device": "w1", "cursor": None, "mode": "full", "changes": []})
    assert body["files"] == [{"id": "f1", "bytes": 10, "sha256": None, "record": "j1"}]
    assert srv.events[-1] == {"ev": "dispatch", "t": 1, "op": "attach", "record": "j1",
                              "assignee": "w1", "version": 2, "file": "f1", "bytes": 10}


def test_sync_takes_two_round_trips_of_the_link():
    for link, rtt in (("wifi", 0.002), ("gprs", 0.5), ("edge", 0.84)):
        h = harness(PLANADO, link=link).run(5)
        end = h.events("sync_end")[0]
        assert end["t"] == pytest.approx(2 * rtt)


def test_transfer_moves_at_link_rate_and_reports_progress():
    h = harness(PLANADO, link="3g")
    h.edit(10, "j", "photo", bytes=330_000 // 8 * 20)  # 20 s at 330 kbps
    h.run(60)
    end = h.events("file_end")[0]
    assert end["ok"] and end["t"] == pytest.approx(10 + 0.2 + 20)
    assert h.server.files == {"w1-c1": 825_000}


def test_outage_fails_syncs_and_link_loss_cuts_one():
    h = harness(PLANADO, link="gprs")
    h.outage(10, 20).manual(10).manual(30).link(30.5, "offline").run(40)
    errors = [e.get("error") for e in h.events("sync_end") if not e["ok"]]
    assert errors[0] == "http 503" and errors[-1] == "link lost"
    assert set(errors) == {"http 503", "link lost"}


def test_push_delivered_only_when_online_and_running():
    h = harness(PLANADO)
    h.dispatch(10, "create", "j1", "w1")
    h.app(20, "closed").dispatch(30, "edit", "j1", "w1")
    h.app(40, "opened").link(50, "offline").dispatch(60, "edit", "j1", "w1")
    h.dispatch(70, "create", "j9", "w2")
    h.run(80)
    assert [e["t"] for e in h.events("push")] == [10.5]
    assert [e["t"] for e in h.events("srv_push")] == [10, 30, 60]


def test_trace_is_in_time_order():
    h = harness(PLANADO)
    h.dispatch(10, "create", "j1", "w1").edit(20, "j1", "status", status="x").run(500)
    ts = [e["t"] for e in h.trace]
    assert ts == sorted(ts) and starts(h)


def test_runaway_driver_loop_is_stopped():
    h = ScriptedHarness(Engine(device="w1", policy=PLANADO, rng=random.Random(1)))

    def again():
        h.at(h.now, again)

    h.at(0, again)
    with pytest.raises(RuntimeError, match=str(MAX_STEPS)):
        h.run(1)


def test_concurrent_transfers_share_the_link():
    h = harness(PLANADO, link="3g")
    size = 330_000 // 8 * 20  # 20 s alone at 330 kbps
    h.edit(10, "j", "photo", bytes=size).edit(10, "j", "photo", bytes=size)
    h.run(100)
    ends = [e["t"] for e in h.events("file_end")]
    assert ends == pytest.approx([10.2 + 40, 10.2 + 40])  # each at half the rate


def test_link_change_rerates_a_transfer():
    h = harness(PLANADO, link="3g")
    h.edit(10, "j", "photo", bytes=330_000 // 8 * 20).link(20.2, "wifi").run(100)
    end = h.events("file_end")[0]
    assert 20.2 < end["t"] < 21  # the second half went at Wi-Fi speed
