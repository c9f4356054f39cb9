"""core.no_loss: "When meta.settled is true: every edit has an ack, and, if the
trace has any srv_apply, a srv_apply for its change. Not settled: n/a."

The rule has no time window, so there is nothing to cut: an edit is judged on
the whole trace.
"""

from __future__ import annotations

from bench.testing import TraceBuilder

RULE = "core.no_loss"


def result(tb: TraceBuilder):
    return tb.results()[RULE]


def test_acked_and_applied_passes():
    tb = TraceBuilder("playmaker", settled=True)
    c = tb.edit(1, "d1", "r1")
    tb.srv_apply(2, "d1", c, "r1", 2).ack(3, "d1", c)
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_ack_before_srv_apply_in_the_file_still_counts():
    tb = TraceBuilder("playmaker", settled=True)
    c = tb.edit(1, "d1", "r1")
    tb.ack(2, "d1", c).srv_apply(3, "d1", c, "r1", 2)
    assert result(tb).verdict == "pass"


def test_device_only_trace_needs_only_the_ack():
    # "if the trace has any srv_apply": none here, so the ack is enough.
    tb = TraceBuilder("planado", settled=True)
    c = tb.edit(1, "d1", "r1")
    tb.ack(2, "d1", c)
    assert result(tb).verdict == "pass"


def test_never_acked_fails():
    tb = TraceBuilder("planado", settled=True)
    tb.edit(1.5, "d1", "r1", change="c-lost")
    tb.link(9, "d1", "wifi")
    r = result(tb)
    assert r.verdict == "fail"
    (v,) = r.violations
    assert (v.t, v.dev) == (1.5, "d1")
    assert "c-lost" in v.message and "never acked" in v.message


def test_applied_but_never_acked_fails():
    tb = TraceBuilder("planado", settled=True)
    c = tb.edit(1, "d1", "r1")
    tb.srv_apply(2, "d1", c, "r1", 2)
    (v,) = result(tb).violations
    assert "never acked" in v.message and c in v.message


def test_acked_but_never_applied_fails_when_the_server_is_traced():
    tb = TraceBuilder("planado", settled=True)
    c1 = tb.edit(1, "d1", "r1")
    c2 = tb.edit(2, "d1", "r2")
    tb.srv_apply(3, "d1", c1, "r1", 2).ack(3, "d1", c1).ack(4, "d1", c2)
    r = result(tb)
    (v,) = r.violations
    assert (v.t, v.dev) == (2, "d1")
    assert c2 in v.message and "srv_apply" in v.message
    assert r.judged == 2


def test_an_ack_on_another_device_does_not_count():
    tb = TraceBuilder("planado", settled=True)
    tb.edit(1, "d1", "r1", change="c1")
    tb.ack(2, "d2", "c1")
    assert result(tb).verdict == "fail"


def test_every_lost_edit_is_listed():
    tb = TraceBuilder("planado", settled=True)
    tb.edit(1, "d1", "r1")
    tb.edit(2, "d2", "r1")
    c = tb.edit(3, "d1", "r2")
    tb.ack(4, "d1", c)
    r = result(tb)
    assert sorted((v.t, v.dev) for v in r.violations) == [(1, "d1"), (2, "d2")]


def test_not_settled_is_na_even_with_a_lost_edit():
    for settled in (False, None):
        tb = TraceBuilder("planado", settled=settled)
        tb.edit(1, "d1", "r1")
        assert result(tb).verdict == "n/a"


def test_settled_without_edits_is_na():
    tb = TraceBuilder("planado", settled=True).link(0, "d1", "wifi")
    assert result(tb).verdict == "n/a"


# -- by value, from the bench's reading of the server (srv_record) ------------------

def _story(server_fields, *, files=None, version=3):
    """The dispatcher creates r1 (v1); d1 writes `report` (v2) and a photo (v3)."""
    tb = TraceBuilder("planado", settled=True)
    tb.dispatch(0, "create", "r1", "d1", version=1, status="new", fields={"title": "Boiler"})
    c1 = tb.edit(10, "d1", "r1", fields={"report": "done"})
    tb.ack(11, "d1", c1, version=2)
    c2 = tb.edit(20, "d1", "r1", "photo", bytes=10, sha256="ab" * 32)
    tb.ack(21, "d1", c2, version=3)
    tb.srv_record(100, "r1", version, "d1", fields=server_fields,
                  files={c2: "ab" * 32} if files is None else files)
    return tb, c1, c2


def test_by_value_passes_when_every_write_is_on_the_server():
    tb, _, _ = _story({"title": "Boiler", "status": "new", "report": "done"})
    r = result(tb)
    assert r.verdict == "pass" and r.judged == 5  # 2 edits acked + 3 writes by value


def test_an_acked_field_missing_on_the_server_is_a_server_fault_naming_the_change():
    tb, c1, _ = _story({"title": "Boiler", "status": "new"})
    (v,) = result(tb).violations
    assert v.dev == "d1" and v.t == 11
    assert v.message.startswith("server fault: the server acked change " + c1)
    assert "field `report` is not on the server" in v.message and "t=11" in v.message


def test_a_dispatcher_field_lost_to_a_device_write_is_caught():
    # A server that replaces the fields instead of merging them drops `title`.
    tb, _, _ = _story({"status": "new", "report": "done"})
    (v,) = result(tb).violations
    assert v.dev is None and "dispatcher's create of r1" in v.message and "`title`" in v.message


def test_a_later_write_of_the_same_field_wins():
    tb = TraceBuilder("planado", settled=True)
    tb.dispatch(0, "create", "r1", "d1", version=1)
    c1 = tb.edit(10, "d1", "r1", fields={"notes": "mine"})
    tb.dispatch(10.5, "edit", "r1", "d1", version=3, fields={"notes": "web"})
    tb.ack(11, "d1", c1, version=2)  # applied before the web edit: the web's value stays
    tb.srv_record(100, "r1", 3, "d1", fields={"notes": "web"})
    assert result(tb).verdict == "pass"


def test_a_missing_or_changed_photo_is_caught():
    tb, _, c2 = _story({"title": "Boiler", "status": "new", "report": "done"}, files={})
    (v,) = result(tb).violations
    assert f"file {c2} is not attached" in v.message
    tb, _, c2 = _story({"title": "Boiler", "status": "new", "report": "done"}, files={c2: "cd" * 32})
    (v,) = result(tb).violations
    assert "another sha256" in v.message


def test_a_version_below_the_acked_writes_is_a_lost_write():
    tb, _, _ = _story({"title": "Boiler", "status": "new", "report": "done"}, version=2)
    (v,) = result(tb).violations
    assert "r1 is at v2 on the server, but 3 writes" in v.message


def test_writes_without_versions_are_not_judged_by_value():
    tb = TraceBuilder("planado", settled=True)
    c1 = tb.edit(10, "d1", "r1", fields={"report": "done"})
    tb.ack(11, "d1", c1)  # an app's trace whose acks carry no version
    tb.srv_record(100, "r1", 1, "d1", fields={})
    r = result(tb)
    assert (r.verdict, r.judged) == ("pass", 1)


def test_na_names_why():
    tb = TraceBuilder("planado", settled=False)
    tb.edit(10, "d1", "r1")
    r = result(tb)
    assert r.verdict == "n/a" and "settle" in r.why
