"""The trace reader: every kind of malformed line trace.md names is reported
with its line number and the problem, and ``syncbench check`` on it exits 2
with one line on stderr and no verdicts.
"""

from __future__ import annotations

import io

import pytest

from bench.cli import main
from bench.trace import TraceError, TraceReader, read_meta, read_trace, validate_event

META = '{"ev":"meta","schema":"syncbench.trace/1","policy":"planado","settled":true}'
LINK = '{"ev":"link","t":0,"dev":"d1","class":"wifi"}'


def _lines(*lines: str) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


# (id, file lines, line number named, words of the problem)
MALFORMED = [
    ("not-json", [META, LINK, '{"ev":"link",'], 3, "not JSON"),
    ("nan-is-not-json", [LINK, '{"ev":"unsent","t":1,"dev":"d1","n":NaN}'], 2, "not JSON"),
    ("array", [LINK, "[1, 2]"], 2, "not a JSON object"),
    ("string", [LINK, '"link"'], 2, "not a JSON object"),
    ("number", ["7"], 1, "not a JSON object"),
    ("no-ev", [LINK, '{"t":1,"dev":"d1"}'], 2, "no string 'ev'"),
    ("ev-not-string", [LINK, '{"ev":3,"t":1}'], 2, "no string 'ev'"),
    ("missing-t", [LINK, '{"ev":"manual","dev":"d1"}'], 2, "manual event is missing required field 't'"),
    ("missing-dev", [LINK, '{"ev":"ack","t":1,"change":"c1"}'], 2, "ack event is missing required field 'dev'"),
    ("missing-class", ['{"ev":"link","t":0,"dev":"d1"}'], 1, "link event is missing required field 'class'"),
    ("required-null", ['{"ev":"link","t":0,"dev":"d1","class":null}'], 1, "missing required field 'class'"),
    ("missing-assignee", [LINK, '{"ev":"dispatch","t":1,"op":"create","record":"r1"}'], 2,
     "dispatch event is missing required field 'assignee'"),
    ("at-absent", [LINK, '{"ev":"last_sync","t":1,"dev":"d1"}'], 2, "last_sync event is missing required field 'at'"),
    ("missing-trigger", [LINK, '{"ev":"sync_start","t":1,"dev":"d1","sync":"s1"}'], 2,
     "missing required field 'trigger'"),
    ("sync-not-string", [LINK, '{"ev":"sync_start","t":1,"dev":"d1","sync":5,"trigger":"timer"}'], 2,
     "sync_start field 'sync' must be a string, got 5"),
    ("t-string", [LINK, '{"ev":"manual","t":"1","dev":"d1"}'], 2, "manual field 't' must be a number"),
    ("version-string", [LINK, '{"ev":"recv","t":1,"dev":"d1","record":"r1","version":"2"}'], 2,
     "recv field 'version' must be a number"),
    ("ok-not-bool", [LINK, '{"ev":"sync_end","t":1,"dev":"d1","sync":"s1","ok":1}'], 2,
     "sync_end field 'ok' must be a boolean, got 1"),
    ("records-not-object", [LINK, '{"ev":"snapshot","t":1,"dev":"d1","records":[1]}'], 2,
     "snapshot field 'records' must be an object"),
    ("records-values", [LINK, '{"ev":"srv_snapshot","t":1,"dev":"d1","records":{"r1":"2"}}'], 2,
     "srv_snapshot field 'records'"),
    ("optional-mistyped", [LINK, '{"ev":"manual","t":1,"dev":"d1","via":7}'], 2,
     "manual field 'via' must be a string"),
    ("at-string", [LINK, '{"ev":"last_sync","t":1,"dev":"d1","at":"noon"}'], 2,
     "last_sync field 'at' must be a number or null"),
    ("bool-version", [LINK, '{"ev":"recv","t":1,"dev":"d1","record":"r1","version":true}'], 2,
     "recv field 'version' must be a number, got true"),
    ("bool-n", [LINK, '{"ev":"unsent","t":1,"dev":"d1","n":false}'], 2, "unsent field 'n' must be a number, got false"),
    ("bool-t", [LINK, '{"ev":"manual","t":true,"dev":"d1"}'], 2, "manual field 't' must be a number, got true"),
    ("bool-bytes", [LINK, '{"ev":"file_start","t":1,"dev":"d1","file":"f","dir":"up","bytes":true}'], 2,
     "file_start field 'bytes' must be a number"),
    ("bool-at", [LINK, '{"ev":"last_sync","t":1,"dev":"d1","at":true}'], 2, "last_sync field 'at'"),
    ("link-class", ['{"ev":"link","t":0,"dev":"d1","class":"4x"}'], 1,
     "link field 'class' must be one of 2g, 3g, 5g, edge, gprs, hspa, lte, offline, wifi, got \"4x\""),
    ("app-state", [LINK, '{"ev":"app","t":1,"dev":"d1","state":"sleeping"}'], 2, "app field 'state' must be one of"),
    ("edit-kind", [LINK, '{"ev":"edit","t":1,"dev":"d1","change":"c","record":"r","kind":"video"}'], 2,
     "edit field 'kind' must be one of photo, status, text"),
    ("file-start-dir", [LINK, '{"ev":"file_start","t":1,"dev":"d1","file":"f","dir":"sideways","bytes":1}'], 2,
     "file_start field 'dir' must be one of down, up"),
    ("file-end-dir", [LINK, '{"ev":"file_end","t":1,"dev":"d1","file":"f","dir":"in","ok":true}'], 2,
     "file_end field 'dir'"),
    ("dispatch-op", [LINK, '{"ev":"dispatch","t":1,"op":"delete","record":"r","assignee":null}'], 2,
     "dispatch field 'op' must be one of assign, attach, create, edit, status, unassign"),
    ("t-backwards", [META, LINK, '{"ev":"manual","t":5,"dev":"d1"}', '{"ev":"manual","t":4.5,"dev":"d1"}'], 4,
     "t goes backwards: 4.5 after 5"),
    ("t-backwards-unknown-kind", [LINK, '{"ev":"manual","t":5,"dev":"d1"}', '{"ev":"x_custom","t":1}'], 3,
     "t goes backwards"),
    ("sync-reused", [LINK, '{"ev":"sync_start","t":1,"dev":"d1","sync":"s1","trigger":"timer"}',
                     '{"ev":"sync_end","t":2,"dev":"d1","sync":"s1","ok":true}',
                     '{"ev":"sync_start","t":3,"dev":"d1","sync":"s1","trigger":"timer"}'], 4,
     "sync id 's1' reused on device 'd1'"),
    ("meta-second", [LINK, META], 2, "meta event is only allowed as the first line"),
    ("meta-after-unknown", ['{"ev":"x_custom"}', META], 2, "meta event is only allowed as the first line"),
    ("meta-twice", [META, META], 2, "only allowed as the first line"),
    ("meta-no-schema", ['{"ev":"meta","policy":"planado"}', LINK], 1, "meta event is missing required field 'schema'"),
    ("meta-wrong-schema", ['{"ev":"meta","schema":"syncbench.trace/2"}', LINK], 1,
     "meta schema must be 'syncbench.trace/1'"),
    ("meta-settled", ['{"ev":"meta","schema":"syncbench.trace/1","settled":"yes"}', LINK], 1,
     "meta field 'settled' must be a boolean"),
    ("meta-params", ['{"ev":"meta","schema":"syncbench.trace/1","params":{"respond_s":"10"}}', LINK], 1,
     "meta field 'params' must be an object of parameter names to numbers >= 0"),
    ("meta-params-negative", ['', '{"ev":"meta","schema":"syncbench.trace/1","params":{"respond_s":-1}}', LINK], 2,
     "meta field 'params' must be an object of parameter names to numbers >= 0"),
    ("meta-params-bool", ['{"ev":"meta","schema":"syncbench.trace/1","params":{"respond_s":true}}', LINK], 1,
     "meta field 'params'"),
    ("number-overflows", [LINK, '{"ev":"unsent","t":1e999,"dev":"d1","n":1}'], 2, "not JSON"),
    ("empty-file", [], 1, "no events (the trace is an empty file)"),
    ("blank-only", ["", "  "], 3, "no events (the trace holds only blank lines)"),
    ("meta-only", [META], 2, "no events (the trace holds only a meta line)"),
    ("blank-lines-counted", ["", META, "", LINK, "", "{oops"], 6, "not JSON"),
]


@pytest.mark.parametrize(("lines", "line", "problem"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_line_is_named(tmp_path, lines, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(_lines(*lines))
    with pytest.raises(TraceError) as exc:
        read_trace(str(path))
    assert exc.value.line == line
    assert problem in exc.value.problem
    assert str(exc.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize(("lines", "line", "problem"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_check_on_a_malformed_trace_exits_2_with_one_line(tmp_path, capsys, lines, line, problem):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(_lines(*lines))
    junit = tmp_path / "out.xml"
    assert main(["check", str(path), "--policy", "planado", "--junit", str(junit)]) == 2
    out, err = capsys.readouterr()
    assert out == ""  # no verdicts
    assert err.count("\n") == 1
    assert f"{path}:{line}: " in err and problem in err
    assert not junit.exists()


def test_check_json_prints_nothing_on_a_malformed_trace(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(_lines(META, LINK, "nope"))
    assert main(["check", str(path), "--json"]) == 2
    assert capsys.readouterr().out == ""


def test_valid_trace_reads_with_meta_apart():
    data = _lines("", META, "", LINK, '{"ev":"manual","t":0,"dev":"d1","via":null}', "")
    reader = TraceReader(io.BytesIO(data))
    events = list(reader)
    assert [e["ev"] for e in events] == ["link", "manual"]
    assert reader.meta["policy"] == "planado"
    assert (reader.events, reader.last_t, reader.lines) == (2, 0, 6)


def test_unknown_kinds_pass_through_with_any_fields():
    data = _lines(LINK, '{"ev":"x_battery","level":"low","t":"soon"}', '{"ev":"x_gps","t":3,"lat":1}')
    events = read_trace(io.BytesIO(data))
    assert [e["ev"] for e in events] == ["link", "x_battery", "x_gps"]


def test_equal_t_and_extra_fields_are_fine():
    data = _lines(LINK, '{"ev":"link","t":0,"dev":"d1","class":"lte","rssi":-90}',
                  '{"ev":"dispatch","t":0,"op":"create","record":"r1","assignee":null,"by":"web"}')
    assert len(read_trace(io.BytesIO(data))) == 3


def test_nullable_required_fields_accept_null():
    data = _lines(LINK, '{"ev":"last_sync","t":1,"dev":"d1","at":null}',
                  '{"ev":"dispatch","t":1,"op":"unassign","record":"r1","assignee":null}')
    assert len(read_trace(io.BytesIO(data))) == 3


def test_sync_ids_may_repeat_across_devices():
    data = _lines('{"ev":"sync_start","t":1,"dev":"d1","sync":"s1","trigger":"timer"}',
                  '{"ev":"sync_start","t":1,"dev":"d2","sync":"s1","trigger":"timer"}')
    assert len(read_trace(io.BytesIO(data))) == 2


def test_events_before_the_error_are_yielded_then_it_stops():
    reader = TraceReader(io.BytesIO(_lines(LINK, LINK, "{")))
    seen = []
    with pytest.raises(TraceError):
        for ev in reader:
            seen.append(ev)
    assert len(seen) == 2


def test_text_streams_are_read_too():
    assert len(read_trace(io.StringIO(LINK + "\n"))) == 1


def test_unreadable_file_names_the_file_without_a_line(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(TraceError) as exc:
        read_trace(str(missing))
    assert str(exc.value).startswith(f"{missing}: cannot read trace")
    assert main(["check", str(missing), "--policy", "planado"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and str(missing) in err


def test_validate_event_alone():
    assert validate_event({"ev": "ack", "t": 1, "dev": "d1", "change": "c"}) is None
    assert validate_event([]) == "not a JSON object"
    assert "missing required field 'change'" in validate_event({"ev": "ack", "t": 1, "dev": "d1"})
    assert validate_event({"ev": "x_custom"}) is None


def test_read_meta(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes(_lines("", META, LINK))
    assert read_meta(path)["policy"] == "planado"
    path.write_bytes(_lines(LINK))
    assert read_meta(path) is None
