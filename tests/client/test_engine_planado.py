"""Planado policy behaviour, driven through the ScriptedHarness."""

from __future__ import annotations

import pytest
from client_scenarios import harness, starts, sync_requests

from reference_client import PLANADO, Engine
from reference_client.engine import actions as A
from reference_client.engine import inputs as I


def ends(h):
    return {e["sync"]: e for e in h.events("sync_end")}


def test_timer_every_two_minutes_with_small_jitter_also_minimized():
    h = harness(PLANADO)
    h.app(300, "minimized")
    h.run(1500)
    timer = starts(h, "timer")
    assert len(timer) >= 10
    end_t = ends(h)
    all_starts = starts(h)
    for prev, cur in zip(all_starts, all_starts[1:], strict=False):
        gap = cur["t"] - end_t[prev["sync"]]["t"]
        if cur["trigger"] == "timer":
            assert 117 <= gap <= 123, gap
    gaps = {round(b["t"] - a["t"], 3) for a, b in zip(timer, timer[1:], strict=False)}
    assert len(gaps) > 1, "jitter spreads a fleet out"


def test_sync_on_open_and_restore():
    h = harness(PLANADO)
    h.app(50, "minimized").app(60, "restored").app(70, "closed").app(80, "opened")
    h.run(90)
    assert [e["t"] for e in starts(h, "open")] == [0, 60, 80]


def test_status_change_syncs_at_once_and_text_does_not():
    h = harness(PLANADO)
    h.edit(30, "job-1", "text").edit(40, "job-1", "status", status="started")
    h.run(41)
    s = starts(h)
    assert [(e["t"], e["trigger"]) for e in s[1:]] == [(40, "status")]
    # "every sync sends all unsent text and status changes"
    req = sync_requests(h)[s[1]["sync"]].request
    assert [c["kind"] for c in req["changes"]] == ["text", "status"]
    assert req["mode"] == "full" and req["device"] == "w1"


@pytest.mark.parametrize("what", ["status", "push"])
def test_strict_trigger_during_a_sync_gets_a_follow_up(what):
    h = harness(PLANADO, link="gprs")  # 1 s syncs
    h.manual(10)
    if what == "status":
        h.edit(10.5, "job-1", "status", status="started")
    else:
        h.push(10.5, "job-1")
    h.run(20)
    first, follow = starts(h)[1:3]
    assert first["trigger"] == "manual" and follow["trigger"] == what
    assert follow["t"] == ends(h)[first["sync"]]["t"]


def test_non_strict_trigger_during_a_full_sync_is_covered():
    h = harness(PLANADO, link="gprs")
    h.manual(10).manual(10.2)
    h.run(20)
    assert len(starts(h, "manual")) == 1


def test_manual_and_push_sync_but_not_offline():
    h = harness(PLANADO)
    h.manual(10).push(20, "job-1")
    h.link(30, "offline").manual(40).push(50, "job-1")
    h.run(60)
    assert [(e["t"], e["trigger"]) for e in starts(h)[1:]] == [(10, "manual"), (20, "push")]


def test_reconnect_syncs_and_uploads_offline_edits():
    h = harness(PLANADO)
    h.link(10, "offline").edit(20, "job-1", "text").edit(21, "job-1", "status", status="paused")
    h.link(30, "edge")
    h.run(40)
    s = starts(h, "link")
    assert [e["t"] for e in s] == [30]
    assert len(sync_requests(h)[s[0]["sync"]].request["changes"]) == 2
    assert [e["change"] for e in h.events("ack")] == ["w1-c1", "w1-c2"]
    assert h.events("unsent")[-1]["n"] == 0


def test_no_files_on_slow_links_abort_at_once_and_resume():
    h = harness(PLANADO, link="3g")
    h.edit(10, "job-1", "photo", bytes=3_000_000)  # ~73 s on 3g
    h.link(30, "edge")
    h.link(100, "wifi")
    h.run(200)
    fs, fe = h.events("file_start"), h.events("file_end")
    assert [e["t"] for e in fs] == [10, 100]
    assert fe[0]["t"] == 30 and fe[0]["ok"] is False and fe[0]["bytes"] > 0
    aborts = [(t, a) for t, a in h.actions if isinstance(a, A.AbortTransfer)]
    assert aborts == [(30, A.AbortTransfer(file="w1-c1", dir="up"))]
    transfers = [a for _, a in h.actions if isinstance(a, A.StartTransfer)]
    assert transfers[1].offset == fe[0]["bytes"] > 0  # resumes where it stopped
    assert fe[1]["ok"] is True


def test_photo_acked_only_after_upload_and_sync():
    h = harness(PLANADO, link="edge")
    h.edit(10, "job-1", "photo", bytes=100_000, sha256="ab" * 32)
    h.manual(20)
    h.link(200, "lte")
    h.run(300)
    reqs = sync_requests(h)
    manual = starts(h, "manual")[0]
    assert reqs[manual["sync"]].request["changes"] == []  # not uploaded yet: not sent
    up_end = h.events("file_end", dir="up")[0]
    file_sync = starts(h, "file")[0]
    assert file_sync["t"] == up_end["t"]
    change = reqs[file_sync["sync"]].request["changes"][0]
    assert change["kind"] == "photo"
    assert change["file"] == {"id": "w1-c1", "sha256": "ab" * 32, "bytes": 100_000}
    assert h.events("ack")[0]["t"] > up_end["t"]


def test_unsent_counts_photos_and_last_sync_is_latest_success():
    h = harness(PLANADO, link="edge")
    h.edit(10, "job-1", "photo", bytes=100_000).edit(11, "job-1", "text").manual(20)
    h.outage(100, 200)
    h.run(150)
    assert [e["n"] for e in h.events("unsent")] == [1, 2, 1]
    ok_ends = [e for e in h.events("sync_end") if e["ok"]]
    failed = [e for e in h.events("sync_end") if not e["ok"]]
    assert failed, "the outage failed a sync"
    assert h.events("last_sync")[-1]["at"] == ok_ends[-1]["t"]
    assert h.engine.last_sync == ok_ends[-1]["t"] and h.engine.unsent == 1


def test_failed_syncs_back_off_boundedly_within_the_cadence():
    h = harness(PLANADO)
    h.outage(1, 1000)
    h.run(1000)
    retry = starts(h, "retry")
    gaps = [b["t"] - a["t"] for a, b in zip(retry, retry[1:], strict=False)]
    timer = starts(h, "timer")[0]
    assert 5 <= retry[0]["t"] - ends(h)[timer["sync"]]["t"] <= 5.5  # after the failed timer sync
    assert gaps[:3] == pytest.approx([10, 20, 40], abs=6)
    assert all(g <= 66.1 for g in gaps)  # capped at 60 s plus 10 % jitter
    assert len(starts(h, "timer")) == 1, "retries replace the timer while failing"


def test_one_sync_at_a_time_and_app_close_aborts():
    h = harness(PLANADO, link="gprs")
    h.manual(10).app(10.5, "closed").app(20, "opened")
    h.run(30)
    e = ends(h)[starts(h, "manual")[0]["sync"]]
    assert (e["t"], e["ok"], e["error"]) == (10.5, False, "closed")
    assert any(isinstance(a, A.AbortSync) for _, a in h.actions)
    open_sync = starts(h, "open")[-1]
    assert open_sync["t"] == 20
    running = 0
    for ev in h.trace:
        running += {"sync_start": 1, "sync_end": -1}.get(ev["ev"], 0)
        assert running in (0, 1)


def test_records_stored_and_removed():
    h = harness(PLANADO)
    h.dispatch(10, "create", "job-1", "w1").dispatch(20, "create", "job-2", "w1")
    h.dispatch(30, "unassign", "job-1", None)
    h.manual(40)
    h.run(50)
    assert h.engine.records() == {"job-2": 1}
    assert [(e["record"], e["version"]) for e in h.events("recv")] == [("job-1", 1), ("job-2", 1)]


def test_retry_resends_the_same_change_ids_and_server_applies_once():
    h = harness(PLANADO)
    h.lose_responses(10, 11).edit(10, "job-1", "status", status="started")
    h.run(60)
    changes = [[c["change"] for c in a.request["changes"]] for a in sync_requests(h).values()]
    assert changes[1:3] == [["w1-c1"], ["w1-c1"]]
    assert len(h.events("srv_apply")) == 1 and len(h.events("ack")) == 1


def test_stale_answers_and_reports_are_ignored():
    eng = Engine(device="w1", policy=PLANADO)
    eng.handle(I.LinkChanged(now=0, link_class="wifi"))
    eng.handle(I.AppChanged(now=0, state="opened"))
    assert eng.handle(I.SyncResponse(now=1, sync="w1-s99")) == []
    assert eng.handle(I.FileDone(now=1, file="nope", dir="up", ok=True)) == []
    with pytest.raises(ValueError, match="earlier than"):
        eng.handle(I.Tick(now=0.5))
    with pytest.raises(TypeError):
        eng.handle("tick")  # type: ignore[arg-type]


def test_every_waiting_file_starts_at_once_unless_capped():
    for policy, started in ((PLANADO, 7), (PLANADO.but(max_transfers=2), 2)):
        h = harness(policy, link="edge")
        for i in range(7):
            h.edit(10 + i, "job-1", "photo", bytes=1_000_000)
        h.link(100, "wifi")
        h.run(100)
        assert len(h.events("file_start")) == started
        h.run(300)
        assert len([e for e in h.events("file_end") if e["ok"]]) == 7
        assert h.engine.unsent == 0


def test_an_ack_does_not_bring_back_a_record_that_left_the_device():
    eng = Engine(device="w1", policy=PLANADO)
    eng.handle(I.LinkChanged(now=0, link_class="wifi"))
    eng.handle(I.AppChanged(now=0, state="opened"))
    eng.handle(I.SyncResponse(now=1, sync="w1-s1",
                              records=(I.ServerRecord(id="job-1", version=1),)))
    eng.handle(I.UserEdit(now=2, record="job-1", kind="text", fields={"a": 1}))
    eng.handle(I.UserEdit(now=2, record="w1-r1", kind="text", fields={"b": 1}))  # a creation
    eng.handle(I.ManualSync(now=3))
    eng.handle(I.SyncResponse(now=4, sync="w1-s2", removed=("job-1",)))
    assert eng.records() == {}
    eng.handle(I.ManualSync(now=5))
    eng.handle(I.SyncResponse(now=6, sync="w1-s3", acks=(
        I.Ack(change="w1-c1", record="job-1", version=2),
        I.Ack(change="w1-c2", record="w1-r1", version=1))))
    assert eng.records() == {"w1-r1": 1} and eng.unsent == 0
