"""The sync core without HTTP: exactly once, conflicts, scope, cursors.

Every test runs over both stores (SQLite and PostgreSQL, ``store_db``).
"""

from __future__ import annotations

import io

import orjson
import pytest

from reference_server import limits
from reference_server.auth import ADMIN
from reference_server.backends import open_store
from reference_server.core import Principal, SyncCore
from reference_server.errors import ApiError
from reference_server.store import Device, FileMeta
from reference_server.tracing import TraceClock, Tracer
from reference_server.validate import sync_request


class FakeWall:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def env(store_db):
    store = open_store(store_db)
    wall = FakeWall()
    buf = io.BytesIO()
    tracer = Tracer(buf, TraceClock(epoch=1000.0, scale=60.0, wall=wall))
    core = SyncCore(store=store, tracer=tracer, secret=b"k" * 32)
    for user in ("w1", "w2"):
        core.add_device(ADMIN, user=user, role="worker", device=user,
                        token_hash=user.encode())
    core.web_create(ADMIN, record_id="job-1", rtype="job", assignee="w1",
                    fields={"title": "Boiler", "status": "new"})
    core.web_create(ADMIN, record_id="job-2", rtype="job", assignee="w2",
                    fields={"title": "Meter"})
    yield core, buf, wall
    store.close()


W1 = Principal(device="w1", user="w1", role="worker")
W2 = Principal(device="w2", user="w2", role="worker")


def sync(core, p=W1, cursor=None, mode="full", changes=()):
    return core.sync(p, sync_request({"device": p.device, "cursor": cursor, "mode": mode,
                                      "changes": list(changes)}))


def text(cid, record, base, **fields):
    return {"change": cid, "record": record, "kind": "text", "base_version": base,
            "fields": fields}


def events(buf):
    return [orjson.loads(line) for line in buf.getvalue().splitlines()]


def test_first_sync_returns_scope_only(env):
    core, _, _ = env
    out = sync(core)
    assert [r["id"] for r in out["records"]] == ["job-1"]
    assert out["removed"] == [] and out["acks"] == [] and out["more"] is False


def test_change_applied_once_and_replayed_with_same_version(env):
    core, buf, _ = env
    first = sync(core, changes=[text("c1", "job-1", 1, title="New")])
    assert first["acks"] == [{"change": "c1", "record": "job-1", "version": 2,
                              "conflict": None, "error": None}]
    again = sync(core, changes=[text("c1", "job-1", 1, title="Other")])
    assert again["acks"] == first["acks"]
    assert core.web_read(ADMIN, "job-1")["fields"]["title"] == "New"
    applies = [e for e in events(buf) if e["ev"] == "srv_apply"]
    assert applies == [{"ev": "srv_apply", "t": 0.0, "dev": "w1", "change": "c1",
                        "record": "job-1", "version": 2}]


def test_conflict_is_last_writer_wins_per_field(env):
    core, _, _ = env
    core.web_status(ADMIN, "job-1", "en_route")                    # v2 writes status
    out = sync(core, changes=[text("c1", "job-1", 1, title="T"),  # title untouched since v1
                              {"change": "c2", "record": "job-1", "kind": "status",
                               "base_version": 1, "fields": {"status": "started"}}])
    a1, a2 = out["acks"]
    assert a1["conflict"] is None and a1["version"] == 3
    assert a2["conflict"].startswith("stale: status written at v2")
    rec = core.web_read(ADMIN, "job-1")
    assert rec["fields"] == {"title": "T", "status": "started"} and rec["version"] == 4


def test_change_on_another_workers_record_is_refused(env):
    core, buf, _ = env
    out = sync(core, changes=[text("c1", "job-2", 1, title="hijack")])
    assert out["acks"][0]["error"] == "not found" and out["acks"][0]["version"] is None
    assert core.web_read(ADMIN, "job-2")["fields"]["title"] == "Meter"
    assert not [e for e in events(buf) if e["ev"] == "srv_apply"]
    # A change with a base version on an unknown record is refused the same way.
    out = sync(core, changes=[text("c2", "nope", 3, title="x")])
    assert out["acks"][0]["error"] == "not found"


def test_null_base_creates_record_owned_by_sender(env):
    core, _, _ = env
    out = sync(core, changes=[{**text("c1", "rep-1", None, body="done"), "type": "report"}])
    assert out["acks"][0]["version"] == 1
    rec = core.web_read(ADMIN, "rep-1")
    assert rec["assignee"] == "w1" and rec["type"] == "report"
    assert "rep-1" not in [r["id"] for r in sync(core, W2)["records"]]


def test_cursor_returns_only_newer_changes_and_removals(env):
    core, _, _ = env
    c = sync(core)["cursor"]
    assert sync(core, cursor=c)["records"] == []
    core.web_edit(ADMIN, "job-1", {"title": "Changed"})
    out = sync(core, cursor=c)
    assert [r["id"] for r in out["records"]] == ["job-1"]
    c = out["cursor"]
    core.web_assign(ADMIN, "job-1", "w2")
    out = sync(core, cursor=c)
    assert out["removed"] == ["job-1"] and out["records"] == []
    assert "job-1" in [r["id"] for r in sync(core, W2)["records"]]


def test_forged_or_foreign_cursor_is_400(env):
    core, _, _ = env
    c = sync(core)["cursor"]
    for bad in ("0.0000000000000000", "x", c.replace(c[-1], "0" if c[-1] != "0" else "1"),
                "999." + c.split(".")[1]):
        with pytest.raises(ApiError) as e:
            sync(core, cursor=bad)
        assert e.value.status == 400 and e.value.where == "cursor"
    with pytest.raises(ApiError):
        sync(core, W2, cursor=c)  # w1's cursor


def test_upload_mode_returns_acks_only(env):
    core, _, _ = env
    out = sync(core, mode="upload", changes=[text("c1", "job-1", 1, title="x")])
    assert set(out) == {"acks", "cursor", "server_time"} and out["cursor"] is None


def test_photo_needs_uploaded_file_and_nothing_applied_otherwise(env):
    core, _, _ = env
    sha = "a" * 64
    photo = {"change": "p1", "record": "job-1", "kind": "photo", "base_version": 1,
             "file": {"id": "f1", "sha256": sha, "bytes": 10}}
    with pytest.raises(ApiError) as e:
        sync(core, changes=[text("c1", "job-1", 1, title="x"), photo])
    assert e.value.status == 409 and e.value.where == "changes[1].file.id"
    assert core.web_read(ADMIN, "job-1")["version"] == 1  # the text change rolled back too
    with core.store.transaction():
        core.store.put_file(FileMeta(id="f1", owner="w1", complete=True, sha256=sha, bytes=10))
    out = sync(core, changes=[photo])
    assert out["acks"][0]["version"] == 2
    assert out["files"] == [{"id": "f1", "record": "job-1", "bytes": 10, "sha256": sha}]


def test_more_pages_when_scope_exceeds_limit(env, monkeypatch):
    core, _, _ = env
    monkeypatch.setattr(limits, "MAX_RECORDS_PER_RESPONSE", 2)
    for i in range(5):
        core.web_create(ADMIN, record_id=f"bulk-{i}", rtype="job", assignee="w1", fields={})
    seen, cursor, more = [], None, True
    while more:
        out = sync(core, cursor=cursor)
        seen += [r["id"] for r in out["records"]]
        cursor, more = out["cursor"], out["more"]
    assert sorted(seen) == sorted(["job-1"] + [f"bulk-{i}" for i in range(5)])


def test_dispatch_events_and_time_scale(env):
    core, buf, wall = env
    wall.now = 1002.0  # two wall seconds at K=60
    core.web_assign(ADMIN, "job-1", None)
    last = events(buf)[-1]
    assert last == {"ev": "dispatch", "t": 120.0, "op": "unassign", "record": "job-1",
                    "assignee": None, "version": 2}
    wall.now = 1001.0  # a wall clock stepping back never makes t go back
    core.web_status(ADMIN, "job-2", "started")
    assert events(buf)[-1]["t"] == 120.0


def test_snapshot_matches_scope(env):
    core, buf, _ = env
    assert core.snapshot(ADMIN, None) == {"snapshots": {"w1": {"job-1": 1}, "w2": {"job-2": 1}}}
    assert events(buf)[-1]["ev"] == "srv_snapshot"


def test_roles(env):
    core, _, _ = env
    with pytest.raises(ApiError) as e:
        core.web_status(W1, "job-1", "x")
    assert e.value.status == 403
    with pytest.raises(ApiError) as e:  # a token of w2 syncing as device w1
        core.sync(W2, sync_request({"device": "w1", "cursor": None, "mode": "full"}))
    assert e.value.status == 403 and e.value.where == "device"
    with pytest.raises(ApiError) as e:
        core.add_device(W1, user="x", role="worker", device="x", token_hash=b"x")
    assert e.value.status == 403
    assert isinstance(core.store.get_device("w1"), Device)


def test_nothing_to_do_shortcut_follows_scope_across_restart(env):
    core, _, _ = env
    c1 = sync(core)["cursor"]
    core.web_edit(ADMIN, "job-2", {"title": "other worker's job"})
    assert sync(core, cursor=c1)["records"] == []          # not w1's scope
    # A fresh core over the same store (a restart) rebuilds the scope index.
    core2 = SyncCore(store=core.store, tracer=core.tracer, secret=b"k" * 32)
    assert sync(core2, cursor=c1)["records"] == []
    core2.web_assign(ADMIN, "job-2", "w1")
    assert [r["id"] for r in sync(core2, cursor=c1)["records"]] == ["job-2"]
    c2 = sync(core2, W2)["cursor"]
    core3 = SyncCore(store=core.store, tracer=core.tracer, secret=b"k" * 32)
    core3.web_edit(ADMIN, "job-1", {"title": "x"})
    assert sync(core3, W2, cursor=c2)["removed"] == []
    assert sync(core3, cursor=c1)["records"][0]["id"] == "job-2"


def test_trace_appended_after_restart_stays_non_decreasing(tmp_path):
    path = str(tmp_path / "t.jsonl")
    wall = FakeWall()
    first = Tracer(path, TraceClock(epoch=900.0, wall=wall))
    first.emit("dispatch", op="create", record="r", assignee=None)   # t = 100
    first.close()
    second = Tracer(path, TraceClock(wall=wall))                     # new epoch: t would be 0
    second.emit("dispatch", op="edit", record="r", assignee=None)
    second.close()
    ts = [orjson.loads(x)["t"] for x in open(path, "rb").read().splitlines()]
    assert ts == [100.0, 100.0]
