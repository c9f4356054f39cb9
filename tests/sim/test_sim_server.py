"""The server model: versions, scope, exactly once, creating, pushes, mutants."""

import pytest

from bench.scenario.mutants import SERVER_MUTANTS, get_server_mutant
from bench.sim.server import ServerModel


def _server(mutant=None, devices=("w1", "w2")):
    events = []
    srv = ServerModel(emit=events.append, mutant=get_server_mutant(mutant), devices=devices)
    return srv, events


def _req(*changes, cursor=None, mode="full", dev="w1"):
    return {"device": dev, "cursor": cursor, "mode": mode, "changes": list(changes)}


def _change(cid, rid, base=None, **fields):
    return {"change": cid, "record": rid, "kind": "text", "base_version": base,
            "fields": fields or {"note": "x"}, "file": None}


def test_dispatch_bumps_versions_and_pushes_to_the_assignee():
    srv, ev = _server()
    assert srv.dispatch(1.0, "create", "job-1", "w1", status="new") == ["w1"]
    assert srv.dispatch(2.0, "status", "job-1", status="started") == ["w1"]
    assert [e["version"] for e in ev] == [1, 2]
    assert ev[0] == {"ev": "dispatch", "t": 1.0, "op": "create", "record": "job-1",
                     "assignee": "w1", "version": 1, "status": "new"}
    assert srv.dispatch(3.0, "unassign", "job-1") == []
    assert ev[-1]["assignee"] is None


def test_sync_returns_the_scope_changed_since_the_cursor():
    srv, _ = _server()
    srv.dispatch(1.0, "create", "job-1", "w1")
    srv.dispatch(1.0, "create", "job-2", "w2")
    acks, recs, removed, files, cursor, nbytes = srv.sync(2.0, "w1", _req())
    assert [r.id for r in recs] == ["job-1"] and removed == () and nbytes > 0
    _, recs, *_ = srv.sync(3.0, "w1", _req(cursor=cursor))
    assert recs == ()  # nothing new since
    srv.dispatch(4.0, "attach", "job-1", file="f1", nbytes=500)
    _, recs, _, files, cursor2, _ = srv.sync(5.0, "w1", _req(cursor=cursor))
    assert [(r.id, r.version) for r in recs] == [("job-1", 2)]
    assert [(f.id, f.bytes) for f in files] == [("f1", 500)]
    srv.dispatch(6.0, "assign", "job-1", "w2")
    _, recs, removed, *_ = srv.sync(7.0, "w1", _req(cursor=cursor2))
    assert recs == () and removed == ("job-1",)


def test_upload_mode_returns_acks_only_and_keeps_the_cursor():
    srv, _ = _server()
    srv.dispatch(1.0, "create", "job-1", "w1")
    acks, recs, removed, files, cursor, _ = srv.sync(2.0, "w1",
                                                     _req(_change("c1", "job-1", 1), cursor="0",
                                                          mode="upload"))
    assert [a.version for a in acks] == [2] and recs == () and cursor == "0"


def test_exactly_once_by_change_id():
    srv, ev = _server()
    srv.dispatch(1.0, "create", "job-1", "w1")
    a1 = srv.sync(2.0, "w1", _req(_change("c1", "job-1", 1)))[0][0]
    a2 = srv.sync(3.0, "w1", _req(_change("c1", "job-1", 1)))[0][0]
    assert a1.version == a2.version == 2
    assert len([e for e in ev if e["ev"] == "srv_apply"]) == 1


def test_a_change_to_an_unknown_record_creates_it_in_the_senders_scope():
    srv, ev = _server()
    ack = srv.sync(1.0, "w2", _req(_change("c1", "w2-r1"), dev="w2"))[0][0]
    assert ack.version == 1
    srv.snapshot(2.0, "w2")
    assert ev[-1] == {"ev": "srv_snapshot", "t": 2.0, "dev": "w2", "records": {"w2-r1": 1}}


def test_stale_base_still_applies_with_a_conflict_note():
    srv, _ = _server()
    srv.dispatch(1.0, "create", "job-1", "w1")
    srv.dispatch(2.0, "edit", "job-1", fields={"title": "new"})
    ack = srv.sync(3.0, "w1", _req(_change("c1", "job-1", 1)))[0][0]
    assert ack.version == 3 and ack.conflict == "stale base"


def test_every_server_mutant_names_a_rule():
    assert {m.rule for m in SERVER_MUTANTS.values()} == {
        "planado.push_sent", "planado.push_delivered", "planado.push_scope",
        "planado.offline_no_push", "core.scope", "core.exactly_once", "core.converge"}
    with pytest.raises(ValueError, match="known: "):
        get_server_mutant("nope")


def test_mutant_skips_status_pushes_and_pushes_wrong_devices():
    srv, _ = _server("srv_skips_push")
    srv.dispatch(1.0, "create", "job-1", "w1")
    assert srv.dispatch(2.0, "status", "job-1", status="started") == []
    srv, _ = _server("push_wrong_device")
    assert srv.dispatch(1.0, "create", "job-1", "w1") == ["w1", "w2"]


def test_mutant_applies_twice_and_loses_updates_and_leaks_scope():
    srv, ev = _server("srv_applies_twice")
    srv.dispatch(1.0, "create", "job-1", "w1")
    srv.sync(2.0, "w1", _req(_change("c1", "job-1", 1)))
    srv.sync(3.0, "w1", _req(_change("c1", "job-1", 1)))
    assert len([e for e in ev if e["ev"] == "srv_apply"]) == 2

    srv, ev = _server("srv_loses_update")
    srv.dispatch(1.0, "create", "job-1", "w1")
    ack = srv.sync(2.0, "w1", _req(_change("c1", "job-1", 1)))[0][0]
    assert ack.version == 2 and srv.records["job-1"].version == 1

    srv, _ = _server("srv_leaks_scope")
    srv.dispatch(1.0, "create", "job-2", "w2")
    recs = srv.sync(2.0, "w1", _req())[1]
    assert [r.id for r in recs] == ["job-2"]
