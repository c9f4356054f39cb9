"""Traffic to trace: each mapping branch, device attribution, triggers, and the n/a reasons."""

from __future__ import annotations

import json

import pytest

from bench.capture.har import Exchange
from bench.capture.mapping import MappingError, load_mapping, parse_mapping
from bench.capture.translate import assemble, build_trace, infer_triggers, traffic_events
from bench.rules.checker import check_events
from bench.rules.policies import get_policy

EPOCH = 1_800_000_000.0
TOKEN = {"authorization": "Bearer tok-w1"}


def sync(t0: float, t1: float, changes=(), acks=(), records=(), status=200, error=None,
         device="w1") -> Exchange:
    body = {"device": device, "cursor": None, "mode": "full", "changes": list(changes)}
    resp = {"acks": list(acks), "records": list(records), "removed": [], "files": [],
            "cursor": "c", "more": False, "server_time": 0}
    return Exchange(t0=EPOCH + t0, t1=EPOCH + t1, method="POST", path="/v1/sync",
                    req_headers=dict(TOKEN), req_text=json.dumps(body), status=status,
                    resp_text=json.dumps(resp) if status == 200 else None, error=error)


def req(t0: float, t1: float, method: str, path: str, status=200, req_bytes=0, resp_bytes=0,
        headers=None) -> Exchange:
    return Exchange(t0=EPOCH + t0, t1=EPOCH + t1, method=method, path=path,
                    req_headers=dict(headers or TOKEN), status=status, req_bytes=req_bytes,
                    resp_bytes=resp_bytes)


def change(cid: str, saved: float | None, kind="text", record="job-1", **extra):
    c = {"change": cid, "record": record, "kind": kind, "base_version": None,
         "fields": {"note": "x"} if kind == "text" else {"status": "started"}, **extra}
    if saved is not None:
        c["saved_at"] = EPOCH + saved
    return c


def events(xs, **kw):
    return traffic_events(xs, load_mapping(None), epoch=EPOCH, **kw).events


def test_a_sync_gives_start_acks_records_and_end_in_that_order():
    evs = events([sync(10, 11, [change("c1", 9.5)],
                       acks=[{"change": "c1", "record": "job-1", "version": 3, "error": None}],
                       records=[{"id": "job-2", "version": 4}])])
    assert [(e["ev"], e["t"]) for e in evs] == [("sync_start", 10), ("ack", 11), ("recv", 11),
                                                ("sync_end", 11)]
    assert evs[1] == {"t": 11, "ev": "ack", "dev": "w1", "change": "c1", "version": 3}
    assert evs[2]["sync"] == evs[0]["sync"] == "w1-x1"


def test_a_refused_ack_is_no_ack_and_a_known_version_is_no_recv():
    tr = traffic_events([sync(1, 2, [change("c1", 0.5)],
                              acks=[{"change": "c1", "record": "job-1", "version": 5, "error": None},
                                    {"change": "c2", "record": "job-9", "version": None,
                                     "error": "not found"}],
                              records=[{"id": "job-1", "version": 5}])],
                        load_mapping(None), epoch=EPOCH)
    kinds = [e["ev"] for e in tr.events]
    assert kinds == ["sync_start", "ack", "sync_end"]  # c2 refused; job-1 v5 came with the ack


def test_an_edit_is_emitted_only_with_its_save_time():
    tr = traffic_events([sync(10, 11, [change("c1", 4.0), change("c2", None)])],
                        load_mapping(None), epoch=EPOCH)
    assert list(tr.edits) == ["c1"]
    assert tr.edits["c1"]["t"] == 4.0 and tr.edits["c1"]["fields"] == {"note": "x"}
    st = traffic_events([sync(10, 11, [change("c3", 2.0, kind="status")])],
                        load_mapping(None), epoch=EPOCH).edits["c3"]
    assert st["kind"] == "status" and st["status"] == "started"


def test_a_failed_sync_ends_not_ok_with_the_reason():
    evs = events([sync(1, 3, status=502), sync(5, 6, status=0, error="connection reset")])
    ends = [e for e in evs if e["ev"] == "sync_end"]
    assert [(e["ok"], e["error"]) for e in ends] == [(False, "HTTP 502"),
                                                      (False, "connection reset")]


def test_an_upload_in_three_requests_is_one_transfer_and_files_get_the_token_s_device():
    xs = [req(20, 20.1, "GET", "/v1/files/c9/upload"),
          req(20.1, 28, "PATCH", "/v1/files/c9/upload", req_bytes=200_000),
          req(28, 28.2, "POST", "/v1/files/c9/finish"),
          sync(1, 2)]  # the sync, later in the file, ties the token to w1
    evs = events(xs)
    files = [e for e in evs if e["ev"].startswith("file")]
    assert files == [
        {"t": 20, "ev": "file_start", "dev": "w1", "file": "c9", "dir": "up", "bytes": 200_000},
        {"t": 28.2, "ev": "file_end", "dev": "w1", "file": "c9", "dir": "up", "ok": True,
         "bytes": 200_000}]


def test_a_cut_download_ends_not_ok_with_what_moved():
    evs = events([sync(0, 1),
                  req(5, 9, "GET", "/v1/files/att-1", status=0, resp_bytes=1000),
                  req(30, 40, "GET", "/v1/files/att-1", status=206, resp_bytes=4000)])
    files = [(e["ev"], e.get("ok"), e.get("bytes")) for e in evs if e["ev"].startswith("file")]
    assert files == [("file_start", None, 1000), ("file_end", False, 1000),
                     ("file_start", None, 4000), ("file_end", True, 4000)]


def test_push_frames_matching_when_become_push_events_others_do_not():
    ws = Exchange(t0=EPOCH + 1, t1=EPOCH + 1.1, method="GET", path="/v1/push",
                  req_headers=dict(TOKEN), status=101,
                  ws=[(EPOCH + 5, False, '{"type":"push","record":"job-1","reason":"edit"}'),
                      (EPOCH + 6, True, '{"type":"ping"}'),
                      (EPOCH + 7, False, '{"type":"pong"}')],
                  ws_closed=EPOCH + 9)
    evs = events([sync(0, 0.5), ws])
    got = [(e["ev"], e["t"], e.get("record"), e.get("up")) for e in evs if e["ev"].startswith("push")]
    assert got == [("push_channel", 1, None, True), ("push", 5, "job-1", None),
                   ("push_channel", 9, None, False)]


def test_requests_of_no_device_and_of_nothing_mapped_are_counted_not_guessed():
    tr = traffic_events([req(1, 2, "GET", "/v1/files/x", headers={"authorization": "Bearer ?"}),
                         sync(3, 4), req(5, 6, "GET", "/elsewhere")],
                        load_mapping(None), epoch=EPOCH)
    assert tr.unattributed == 1 and tr.ignored == 1


def test_listener_and_fixed_device_attribute_without_any_body():
    m = load_mapping(None)
    x = req(1, 2, "GET", "/v1/files/f/upload", headers={})
    x.listen = 8081
    assert traffic_events([x], m, epoch=EPOCH, listeners={8081: "phone"}).devices == ["phone"]
    y = req(1, 2, "GET", "/v1/files/f/upload", headers={})
    assert traffic_events([y], m, epoch=EPOCH, device="solo").devices == ["solo"]


def test_triggers_are_inferred_from_what_precedes_each_sync():
    evs = [{"t": 0, "ev": "link", "dev": "w1", "class": "3g"},
           {"t": 0, "ev": "app", "dev": "w1", "state": "opened"},
           {"t": 0.5, "ev": "sync_start", "dev": "w1", "sync": "w1-x1", "trigger": "timer"},
           {"t": 1.0, "ev": "push", "dev": "w1", "record": "r"},  # during x1: counts from its end
           {"t": 3.0, "ev": "sync_end", "dev": "w1", "sync": "w1-x1", "ok": True},
           {"t": 7.5, "ev": "sync_start", "dev": "w1", "sync": "w1-x2", "trigger": "timer"},
           {"t": 8.0, "ev": "sync_end", "dev": "w1", "sync": "w1-x2", "ok": False},
           {"t": 20, "ev": "sync_start", "dev": "w1", "sync": "w1-x3", "trigger": "timer"},
           {"t": 21, "ev": "sync_end", "dev": "w1", "sync": "w1-x3", "ok": True},
           {"t": 140, "ev": "sync_start", "dev": "w1", "sync": "w1-x4", "trigger": "timer"}]
    infer_triggers(evs)
    assert [e["trigger"] for e in evs if e["ev"] == "sync_start"] == ["open", "push", "retry",
                                                                       "timer"]


def test_assemble_assumes_running_from_the_first_request_and_says_so():
    tr = traffic_events([sync(4, 5)], load_mapping(None), epoch=EPOCH)
    trace = assemble(tr, policy="planado", epoch=EPOCH, links={None: [(0.0, "3g")]})
    meta, body = trace[0], trace[1:]
    assert meta["source"] == "traffic" and meta["capture"]["assumed"]
    assert body[0]["ev"] == "link" and body[1] == {"t": 4, "ev": "app", "dev": "w1",
                                                   "state": "opened"}
    logged = assemble(tr, policy="planado", epoch=EPOCH,
                      app_log=[{"t": 1, "ev": "app", "dev": "w1", "state": "opened"}])
    assert not logged[0]["capture"]["assumed"]
    assert sum(e["ev"] == "app" for e in logged) == 1


def _verdicts(trace):
    return {r.id: r for r in check_events(trace[1:], get_policy(trace[0]["policy"]), meta=trace[0])}


def test_an_overpolling_app_fails_no_overpoll_and_a_2_minute_one_passes_cadence():
    polls = [sync(t, t + 0.5) for t in range(0, 600, 10)]
    bad = _verdicts(build_trace(polls, load_mapping(None), policy="planado", epoch=EPOCH,
                                links={None: [(0.0, "3g")]}))
    assert bad["planado.no_overpoll"].verdict == "fail"
    good = _verdicts(build_trace([sync(t, t + 0.5) for t in range(0, 600, 120)],
                                 load_mapping(None), policy="planado", epoch=EPOCH,
                                 links={None: [(0.0, "3g")]}))
    assert good["planado.no_overpoll"].verdict == "pass"
    assert good["planado.cadence"].verdict == "pass"


def test_a_photo_uploaded_on_edge_fails_slow_no_files():
    xs = [sync(0, 1), req(100, 101, "GET", "/v1/files/c2/upload"),
          req(101, 140, "PATCH", "/v1/files/c2/upload", req_bytes=200_000),
          req(140, 141, "POST", "/v1/files/c2/finish")]
    v = _verdicts(build_trace(xs, load_mapping(None), policy="planado", epoch=EPOCH,
                              links={None: [(0.0, "3g"), (50.0, "edge")]}))
    assert v["planado.slow_no_files"].verdict == "fail"


def test_a_rule_the_traffic_cannot_judge_says_which_source_it_lacks():
    v = _verdicts(build_trace([sync(0, 1)], load_mapping(None), policy="planado", epoch=EPOCH,
                              links={None: [(0.0, "3g")]}))
    assert v["planado.unsent_count"].verdict == "n/a"
    assert "without an app log" in v["planado.unsent_count"].why
    assert "without the server's side" in v["planado.push_sent"].why
    # Judgeable on an assumed "opened" alone, it would pass empty: n/a, and why.
    assert v["planado.sync_on_open"].verdict == "n/a"
    assert "without an app log" in v["planado.sync_on_open"].why
    assert "app log" in v["core.converge"].why  # the server's side is missing first


def test_display_rules_allow_the_trace_s_observation_lag():
    """A last-sync time shown 1.5 s after the wire saw the sync end: a mismatch on a
    device's own trace, within a capture's observation lag."""
    body = [{"t": 0, "ev": "link", "dev": "w1", "class": "3g"},
            {"t": 0, "ev": "app", "dev": "w1", "state": "opened"},
            {"t": 1, "ev": "sync_start", "dev": "w1", "sync": "s1", "trigger": "open"},
            {"t": 2, "ev": "sync_end", "dev": "w1", "sync": "s1", "ok": True},
            {"t": 3.5, "ev": "last_sync", "dev": "w1", "at": 3.5},
            {"t": 60, "ev": "unsent", "dev": "w1", "n": 0}]
    pol = get_policy("planado")

    def verdict(meta):
        return {r.id: r.verdict for r in check_events(body, pol, meta=meta)}[
            "planado.last_sync_time"]

    assert verdict({"policy": "planado"}) == "fail"
    assert verdict({"policy": "planado", "observation_lag_s": 2.0}) == "pass"


@pytest.mark.parametrize("data,where", [
    ({"map": "other/1"}, "map"),
    ({"map": "syncbench.map/1"}, "maps nothing"),
    ({"map": "syncbench.map/1", "sync": {"path": "(["}}, "sync.path"),
    ({"map": "syncbench.map/1", "sync": {"path": "/s", "colour": 1}}, "sync.colour"),
    ({"map": "syncbench.map/1", "files": [{"path": "/f/(.*)", "dir": "up"}]}, "files[0].path"),
    ({"map": "syncbench.map/1", "files": [{"path": "/f/(?P<file>.*)", "dir": "sideways"}]},
     "files[0].dir"),
    ({"map": "syncbench.map/1", "device": [{"json": "a", "header": "b"}], "push": {"path": "/p"}},
     "device[0]"),
])
def test_a_bad_mapping_names_the_key(data, where):
    with pytest.raises(MappingError) as exc:
        parse_mapping(data, "app.yaml")
    assert str(exc.value).startswith("app.yaml: ") and where in str(exc.value)
    assert "\n" not in str(exc.value)


def test_the_shipped_example_mapping_loads(tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parents[2] / "docs" / "examples" / "rest-app.yaml"
    m = load_mapping(example)
    assert m.sync is not None and m.files and m.push is not None
    bad = tmp_path / "bad.yaml"
    bad.write_text("map: [unclosed\n")
    with pytest.raises(MappingError, match=r"bad.yaml: line \d+: not YAML"):
        load_mapping(bad)


def test_the_rest_example_mapping_reads_a_rest_app_s_traffic():
    from pathlib import Path

    m = load_mapping(Path(__file__).resolve().parents[2] / "docs" / "examples" / "rest-app.yaml")
    head = {"authorization": "Bearer abc", "x-device-id": "tab-7"}
    body = {"deviceId": "tab-7", "outbox": [
        {"clientChangeId": "k1", "jobId": "J1", "type": "status_change", "data": {"status": "done"},
         "updatedAt": "2027-01-15T08:00:03+00:00"},
        {"clientChangeId": "k2", "jobId": "J1", "type": "photo", "photo": {"size": 4096},
         "updatedAt": "2027-01-15T08:00:01+00:00"}]}
    resp = {"result": {"accepted": [{"clientChangeId": "k1", "revision": 9, "rejectReason": None,
                                     "jobId": "J1"},
                                    {"clientChangeId": "k2", "revision": None,
                                     "rejectReason": "too big", "jobId": "J1"}],
                       "jobs": [{"id": "J2", "revision": 3}]}}
    xs = [Exchange(t0=EPOCH + 5, t1=EPOCH + 6, method="POST", path="/api/v2/sync",
                   req_headers=head, req_text=json.dumps(body), status=200,
                   resp_text=json.dumps(resp)),
          Exchange(t0=EPOCH + 2, t1=EPOCH + 4, method="PUT", path="/api/v2/photos/k2",
                   req_headers={"authorization": "Bearer abc"}, status=201, req_bytes=4096),
          Exchange(t0=EPOCH + 7, t1=EPOCH + 7.5, method="GET", path="/api/v2/live", status=101,
                   req_headers={"authorization": "Bearer abc"},
                   ws=[(EPOCH + 7.2, False, '{"event": "job_changed", "payload": '
                                            '{"jobId": "J2", "change": "edit"}}')])]
    tr = traffic_events(xs, m, epoch=EPOCH)
    assert tr.devices == ["tab-7"]
    assert tr.edits["k1"]["t"] == 3.0 and tr.edits["k1"]["kind"] == "status"
    assert tr.edits["k2"]["kind"] == "photo" and tr.edits["k2"]["bytes"] == 4096
    got = [(e["ev"], e["t"]) for e in sorted(tr.events, key=lambda e: e["t"])]
    assert got == [("file_start", 2), ("file_end", 4), ("sync_start", 5), ("ack", 6),
                   ("recv", 6), ("sync_end", 6), ("push_channel", 7), ("push", 7.2)]
    ack = next(e for e in tr.events if e["ev"] == "ack")
    assert ack == {"t": 6, "ev": "ack", "dev": "tab-7", "change": "k1", "version": 9}
