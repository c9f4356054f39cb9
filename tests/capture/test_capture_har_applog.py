"""HAR entries and app logs: what real exports look like, and the errors bad ones get."""

from __future__ import annotations

import base64
import json

import pytest

from bench.capture.applog import AppLogError, app_log_lines, read_app_log
from bench.capture.har import HarError, read_exchanges

EPOCH = 1_800_000_000.0


def entry(url="http://api/v1/sync", method="POST", started="2027-01-15T08:00:00.000+00:00",
          time_ms=250.0, status=200, text='{"acks": []}', **extra):
    e = {"startedDateTime": started, "time": time_ms,
         "request": {"method": method, "url": url, "headers": [{"name": "Authorization",
                                                                "value": "Bearer t"}],
                     "bodySize": 12, "postData": {"mimeType": "application/json",
                                                  "text": '{"device":"w1"}'}},
         "response": {"status": status, "headers": [{"name": "Content-Type",
                                                     "value": "application/json"}],
                      "content": {"size": len(text), "text": text}, "bodySize": len(text)}}
    e.update(extra)
    return e


def write_har(path, entries):
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


def test_a_har_entry_becomes_an_exchange_with_times_and_bodies(tmp_path):
    (x,) = read_exchanges(write_har(tmp_path / "a.har", [entry()]))
    assert x.method == "POST" and x.path == "/v1/sync" and x.status == 200
    assert x.t1 - x.t0 == pytest.approx(0.25)
    assert x.req_headers["authorization"] == "Bearer t"
    assert x.json("req") == {"device": "w1"} and x.json("resp") == {"acks": []}


def test_entries_are_ordered_offsets_honoured_and_base64_bodies_decoded(tmp_path):
    b64 = base64.b64encode(b'{"records": []}').decode()
    later = entry(started="2027-01-15T10:00:01+02:00")  # 08:00:01 UTC
    first = entry(started="2027-01-15T08:00:00Z")
    first["response"]["content"] = {"size": 15, "text": b64, "encoding": "base64"}
    xs = read_exchanges(write_har(tmp_path / "b.har", [later, first]))
    assert xs[1].t0 - xs[0].t0 == pytest.approx(1.0)
    assert xs[0].json("resp") == {"records": []}


def test_a_failed_entry_and_websocket_messages(tmp_path):
    failed = entry(status=0, text="")
    failed["response"] = {"status": 0, "headers": [], "content": {}, "_error": "connection reset"}
    ws = entry(url="http://api/v1/push", method="GET", status=101, text="",
               _webSocketMessages=[{"type": "receive", "time": EPOCH + 3, "opcode": 1,
                                    "data": '{"type":"push","record":"r"}'},
                                   {"type": "send", "time": EPOCH + 4, "opcode": 1,
                                    "data": '{"type":"ping"}'}])
    a, b = read_exchanges(write_har(tmp_path / "c.har", [failed, ws]))
    assert a.status == 0 and a.error == "connection reset" and not a.ok
    assert b.ws == [(EPOCH + 3, False, '{"type":"push","record":"r"}'),
                    (EPOCH + 4, True, '{"type":"ping"}')]


def test_a_capture_flows_jsonl_reads_like_a_har(tmp_path):
    e = entry()
    e["_syncbench"] = {"listen": 8081, "end": 1.8e9 + 9, "req_bytes": 5}
    p = tmp_path / "flows.jsonl"
    p.write_text(json.dumps(e) + "\n\n" + json.dumps(entry()) + "\n")
    xs = read_exchanges(p)
    assert len(xs) == 2 and {x.listen for x in xs} == {8081, None}


@pytest.mark.parametrize("content,where", [
    ("not json at all", "line 1: not JSON"),
    ('{"log": {}}', "no log.entries"),
    ('[1, 2]', "a JSON list"),
    ('{"log": {"entries": [{"request": {"url": "http://x/"}}]}}', "entry 0: request.method"),
    ('{"log": {"entries": [{"request": {"url": "http://x/", "method": "GET"},'
     ' "startedDateTime": "yesterday"}]}}', "entry 0: startedDateTime: not an ISO 8601 time"),
])
def test_a_bad_har_names_file_and_entry(tmp_path, content, where):
    p = tmp_path / "bad.har"
    p.write_text(content)
    with pytest.raises(HarError) as exc:
        read_exchanges(p)
    assert str(exc.value).startswith(str(p)) and where in str(exc.value)


def test_the_entry_limit_is_checked(tmp_path):
    p = write_har(tmp_path / "big.har", [entry()] * 3)
    with pytest.raises(HarError, match="more than 2 entries"):
        read_exchanges(p, limit=2)


def test_an_app_log_in_jsonl_with_every_clock_and_shorthand(tmp_path):
    p = tmp_path / "app.jsonl"
    rows = [{"t": EPOCH + 1, "dev": "w1", "ev": "opened"},
            {"t": (EPOCH + 2) * 1000, "dev": "w1", "ev": "edit", "change": "c1", "record": "j",
             "kind": "text"},
            {"t": "2027-01-15T08:00:00+00:00", "dev": "w1", "ev": "manual"},
            {"t": EPOCH + 3, "dev": "w1", "ev": "status", "change": "c2", "record": "j",
             "status": "started"},
            {"t": EPOCH + 4, "ev": "last_sync", "at": EPOCH + 3.5},
            {"t": EPOCH + 5, "ev": "unsent", "n": 2}]
    p.write_text("\n".join(json.dumps(r) for r in rows))
    evs = read_app_log(p, epoch=EPOCH, k=10, offset_s=0.5, device="w1")
    kinds = [(e["ev"], e["t"]) for e in evs]
    # Unix s, Unix ms, ISO (EPOCH is 2027-01-15T08:00:00Z), each + 0.5 s offset, x K = 10
    assert kinds[:3] == [("manual", 5.0), ("app", 15.0), ("edit", 25.0)]
    status = next(e for e in evs if e.get("kind") == "status")
    assert status["status"] == "started" and status["t"] == 35.0
    assert next(e for e in evs if e["ev"] == "last_sync")["at"] == 40.0


def test_an_app_log_in_csv(tmp_path):
    p = tmp_path / "app.csv"
    p.write_text(f"t,dev,ev,n,at\n{EPOCH + 1},w1,unsent,3,\n{EPOCH + 2},w1,last_sync,,null\n")
    evs = read_app_log(p, epoch=EPOCH)
    assert evs == [{"t": 1.0, "ev": "unsent", "dev": "w1", "n": 3},
                   {"t": 2.0, "ev": "last_sync", "dev": "w1", "at": None}]


@pytest.mark.parametrize("line,where", [
    ('{"t": 1800000001, "ev": "dance", "dev": "w1"}', "ev 'dance' is not an app event"),
    ('{"t": "soon", "ev": "opened", "dev": "w1"}', "t: not a time"),
    ('{"t": 1800000001, "ev": "unsent", "dev": "w1", "n": "two"}', "n"),
    ('{"t": 1800000001, "ev": "opened"}', "dev is missing"),
    ('[1]', "not a JSON object"),
])
def test_a_bad_app_log_line_is_named(tmp_path, line, where):
    p = tmp_path / "app.jsonl"
    p.write_text('{"t": 1800000000, "ev": "opened", "dev": "w1"}\n' + line + "\n")
    with pytest.raises(AppLogError) as exc:
        read_app_log(p, epoch=EPOCH)
    assert f"{p}: line 2" in str(exc.value) and where in str(exc.value)


def test_app_log_lines_round_trip_through_the_reader(tmp_path):
    own = [{"t": 1.5, "ev": "app", "dev": "w1", "state": "opened"},
           {"t": 2.0, "ev": "edit", "dev": "w1", "change": "c", "record": "r", "kind": "status",
            "status": "done"},
           {"t": 3.0, "ev": "last_sync", "dev": "w1", "at": 2.5},
           {"t": 3.0, "ev": "sync_start", "dev": "w1", "sync": "s", "trigger": "timer"}]
    p = tmp_path / "log.jsonl"
    p.write_text("\n".join(app_log_lines(own, epoch=EPOCH, k=60)) + "\n")
    back = read_app_log(p, epoch=EPOCH, k=60)
    # Unix seconds near 1.8e9 keep about a microsecond: 60 us of spec time at K = 60.
    assert [{**e, "t": round(e["t"], 3)} for e in back][:2] == own[:2]
    assert back[2]["at"] == pytest.approx(2.5, abs=1e-3)
