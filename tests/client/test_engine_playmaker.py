"""PlayMaker policy behaviour, driven through the ScriptedHarness."""

from __future__ import annotations

from client_scenarios import harness, starts, sync_requests

from reference_client import PLAYMAKER


def test_save_uploads_at_once_in_upload_mode():
    h = harness(PLAYMAKER)
    h.dispatch(5, "create", "acct-1", "w1")
    h.edit(10, "w1-r1", "text", fields={"name": "Corner shop"})
    h.run(20)
    s = starts(h)
    assert [(e["t"], e["trigger"]) for e in s] == [(10, "save")]
    req = sync_requests(h)[s[0]["sync"]]
    assert req.mode == "upload"
    assert req.request["changes"][0]["base_version"] is None  # created on the device
    assert h.events("ack")[0]["change"] == "w1-c1"
    assert not h.events("recv"), "a save does not pull acct-1"


def test_save_during_an_upload_gets_a_follow_up():
    h = harness(PLAYMAKER, link="gprs")
    h.edit(10, "r1", "text").edit(10.5, "r1", "status", status="visited")
    h.run(20)
    first, follow = starts(h)
    end = h.events("sync_end", sync=first["sync"])[0]
    assert follow["trigger"] == "save" and follow["t"] == end["t"]


def test_offline_saves_go_up_on_reconnect():
    h = harness(PLAYMAKER)
    h.link(10, "offline").edit(20, "r1", "text").edit(30, "r2", "text")
    h.link(40, "edge")
    h.run(50)
    s = starts(h)
    assert [(e["t"], e["trigger"]) for e in s] == [(40, "link")]
    assert len(sync_requests(h)[s[0]["sync"]].request["changes"]) == 2
    assert h.engine.unsent == 0


def test_only_manual_sync_pulls_and_it_pulls_everything_since_the_last():
    h = harness(PLAYMAKER)
    for i, t in enumerate((5, 6, 7)):
        h.dispatch(t, "create", f"acct-{i}", "w1")
    h.push(8, "acct-0")
    h.manual(10)
    h.dispatch(20, "edit", "acct-1", "w1")
    h.manual(30)
    h.run(1000)
    s = starts(h)
    assert [e["trigger"] for e in s] == ["manual", "manual"]
    assert all(e["sync"] in {x["sync"] for x in s} for e in h.events("recv"))
    assert [(e["record"], e["version"]) for e in h.events("recv")] == [
        ("acct-0", 1), ("acct-1", 1), ("acct-2", 1), ("acct-1", 2)]
    second = sync_requests(h)[s[1]["sync"]]
    assert second.mode == "full" and second.request["cursor"] is not None


def test_no_timer_and_pushes_ignored():
    h = harness(PLAYMAKER)
    h.push(50, "acct-1")
    h.run(2000)
    assert starts(h) == []
    assert h.engine.next_deadline is None
    assert len(h.events("push")) == 1


def test_manual_absorbs_a_pending_save_and_stays_manual():
    h = harness(PLAYMAKER, link="gprs")
    h.dispatch(1, "create", "acct-1", "w1")
    h.edit(10, "r1", "text").edit(10.3, "r1", "text").manual(10.5)
    h.run(20)
    s = starts(h)
    assert [e["trigger"] for e in s] == ["save", "manual"]
    assert sync_requests(h)[s[1]["sync"]].mode == "full"
    assert {e["sync"] for e in h.events("recv")} == {s[1]["sync"]}


def test_photo_goes_up_on_any_link_then_its_change():
    h = harness(PLAYMAKER, link="edge")
    h.edit(10, "r1", "photo", bytes=50_000)
    h.run(30)
    assert h.events("file_start")[0]["t"] == 10
    assert [e["trigger"] for e in starts(h)] == ["file"]
    assert h.engine.unsent == 0


def test_app_started_in_background_uploads_what_waited():
    h = harness(PLAYMAKER)
    h.link(5, "offline").edit(10, "r1", "text").app(20, "closed").link(30, "edge")
    h.app(40, "minimized")
    h.run(50)
    assert [(e["t"], e["trigger"]) for e in starts(h)] == [(40, "wake")]
    assert h.engine.unsent == 0
