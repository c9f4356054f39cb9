"""No principal can borrow another's identity (files, uploads, sync, push).

The server keys file ownership and push sockets by user and device. The
operator's identity lives outside the id alphabet (``auth.ADMIN_ID``), and
``admin`` is refused at provisioning; the module's server runs on a database
written as an older server did it, with a worker user *and* device named
``admin`` already provisioned, so the namespace itself is what is tested, not
only the refusal. Every pair of roles is tried both ways.
"""

from __future__ import annotations

import asyncio
import hashlib
import os

import httpx
import orjson
import pytest
import websockets

from reference_server.auth import ADMIN_ID, LEGACY_ADMIN_ID, new_token, token_hash
from reference_server.files import BlobStore
from reference_server.sqlite_store import SQLiteStore
from reference_server.store import Device, FileMeta
from reference_server.testing import running_server

# Generous on a loaded 2-core machine; a push normally arrives in a millisecond.
RECV_TIMEOUT_S = 10.0
# Each pair below: (owner, intruder). "admin-worker" is the worker provisioned
# as user and device "admin" before the name was reserved.
ROLE_PAIRS = [("admin", "worker"), ("worker", "admin"), ("admin", "admin-worker"),
              ("admin-worker", "admin"), ("worker", "worker2"), ("worker", "admin-worker"),
              ("admin-worker", "worker"), ("dispatcher", "worker"), ("worker", "dispatcher"),
              ("dispatcher", "admin-worker"), ("sales", "worker"), ("worker", "sales")]
# Roles that read every file by design (docs/protocol.md, "Files").
READS_ALL = {"admin", "dispatcher"}


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def _legacy_db(path: str, files_dir: str, *, admin_worker: bool,
               admin_files: dict[str, bytes] | None = None) -> str | None:
    """A database as written before ADMIN_ID; returns the "admin" worker's token."""
    store = SQLiteStore(path)
    token = None
    with store.transaction():
        if admin_worker:
            token = new_token()
            store.add_user(LEGACY_ADMIN_ID, "worker")
            store.add_device(Device(id=LEGACY_ADMIN_ID, user=LEGACY_ADMIN_ID, role="worker",
                                    token_hash=token_hash(token)))
        blobs = BlobStore(files_dir)
        for fid, data in (admin_files or {}).items():
            # "-partial" ids are uploads in progress; the others are finished.
            if fid.endswith("-partial"):
                blobs.partial_path(fid).write_bytes(data)
                store.put_file(FileMeta(id=fid, owner=LEGACY_ADMIN_ID, complete=False,
                                        sha256=None, bytes=None))
            else:
                sha = hashlib.sha256(data).hexdigest()
                blobs.blob_path(sha).write_bytes(data)
                store.put_file(FileMeta(id=fid, owner=LEGACY_ADMIN_ID, complete=True,
                                        sha256=sha, bytes=len(data)))
    store.close()
    return token


@pytest.fixture(scope="module")
def legacy(tmp_path_factory):
    """A server on a database holding a worker provisioned as "admin"; role -> token."""
    d = tmp_path_factory.mktemp("legacy")
    db, files_dir = str(d / "old.db"), str(d / "files")
    admin_worker = _legacy_db(db, files_dir, admin_worker=True)
    with running_server(db=db, files_dir=files_dir) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as client:
        tokens = {"admin": srv.admin_token, "admin-worker": admin_worker,
                  "dispatcher": srv.dispatcher_token, "worker": srv.provision("iw1"),
                  "worker2": srv.provision("iw2"), "sales": srv.provision("is1", role="sales")}
        yield srv, client, tokens


def put(client, token, fid, offset, data):
    return client.patch(f"/v1/files/{fid}/upload", content=data,
                        headers={**auth(token), "Upload-Offset": str(offset),
                                 "Content-Type": "application/octet-stream"})


def finish(client, token, fid, data):
    return client.post(f"/v1/files/{fid}/finish", headers=auth(token),
                       json={"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})


def upload(client, token, fid, data):
    assert put(client, token, fid, 0, data).status_code == 200
    assert finish(client, token, fid, data).status_code == 200


@pytest.mark.parametrize("owner,intruder", ROLE_PAIRS, ids=[f"{a}-vs-{b}" for a, b in ROLE_PAIRS])
def test_files_and_uploads_stay_their_owners(legacy, owner, intruder):
    _srv, client, tok = legacy
    done, part = f"id-{owner}-{intruder}-done", f"id-{owner}-{intruder}-part"
    data = os.urandom(3000)
    upload(client, tok[owner], done, data)
    assert put(client, tok[owner], part, 0, data[:1000]).status_code == 200

    r = client.get(f"/v1/files/{done}", headers=auth(tok[intruder]))
    if intruder in READS_ALL:
        assert r.status_code == 200 and r.content == data
    else:
        assert r.status_code == 404, r.text
    # Status, append and finish of someone else's upload: 409, nothing written.
    r = client.get(f"/v1/files/{part}/upload", headers=auth(tok[intruder]))
    assert r.status_code == 409 and r.json()["where"] == "file_id"
    r = put(client, tok[intruder], part, 1000, data[1000:])
    assert r.status_code == 409 and r.json()["where"] == "file_id"
    r = finish(client, tok[intruder], part, data[:1000])
    assert r.status_code == 409 and r.json()["where"] == "file_id"
    r = put(client, tok[intruder], done, 3000, b"x")
    assert r.status_code == 409
    # The owner's upload is untouched and finishes.
    st = client.get(f"/v1/files/{part}/upload", headers=auth(tok[owner])).json()
    assert st["offset"] == 1000
    assert put(client, tok[owner], part, 1000, data[1000:]).status_code == 200
    assert finish(client, tok[owner], part, data).status_code == 200


def photo_sync(device, file_id, data, record):
    return {"device": device, "cursor": None, "mode": "full", "changes": [{
        "change": f"c-{record}", "record": record, "kind": "photo", "base_version": None,
        "fields": {}, "file": {"id": file_id, "sha256": hashlib.sha256(data).hexdigest(),
                               "bytes": len(data)}}]}


@pytest.mark.parametrize("owner,intruder", ROLE_PAIRS, ids=[f"{a}-vs-{b}" for a, b in ROLE_PAIRS])
def test_sync_cannot_use_anothers_file_or_device(legacy, owner, intruder):
    _srv, client, tok = legacy
    fid, data = f"sf-{owner}-{intruder}", os.urandom(500)
    upload(client, tok[owner], fid, data)
    devices = {"admin-worker": LEGACY_ADMIN_ID, "worker": "iw1", "worker2": "iw2",
               "sales": "is1"}
    if intruder not in devices:
        # Admin and dispatcher never sync, under any device id (ADMIN_ID is
        # not even an id: 400).
        for dev, status in ((ADMIN_ID, 400), (LEGACY_ADMIN_ID, 403), ("iw1", 403)):
            r = client.post("/v1/sync", headers=auth(tok[intruder]),
                            json={"device": dev, "cursor": None, "mode": "full", "changes": []})
            assert r.status_code == status, r.text
        return
    me = devices[intruder]
    r = client.post("/v1/sync", headers=auth(tok[intruder]),
                    json=photo_sync(me, fid, data, f"r-{owner}-{intruder}"))
    assert r.status_code == 409 and r.json()["where"] == "changes[0].file.id", r.text
    # Nor can it sync as the owner's device (or the admin's).
    for dev in {devices.get(owner, LEGACY_ADMIN_ID), ADMIN_ID} - {me}:
        r = client.post("/v1/sync", headers=auth(tok[intruder]),
                        json={"device": dev, "cursor": None, "mode": "full", "changes": []})
        assert r.status_code in (400, 403), r.text


def ws_url(srv, token):
    return srv.url.replace("http://", "ws://") + f"/v1/push?token={token}"


async def recv(ws):
    return orjson.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S))


async def assert_silent(ws):
    # A pong answers after any push already queued to this socket.
    await ws.send('{"type":"ping"}')
    assert await recv(ws) == {"type": "pong"}


def test_push_for_a_worker_named_admin_never_reaches_the_admin(legacy):
    srv, client, tok = legacy
    d = auth(tok["dispatcher"])

    async def web(body):
        r = await asyncio.to_thread(client.post, "/v1/web/jobs", json=body, headers=d)
        assert r.status_code == 201, r.text

    async def go():
        async with websockets.connect(ws_url(srv, tok["admin"])) as admin, \
                websockets.connect(ws_url(srv, tok["worker"])) as w1:
            # Worker "admin" offline: its push is queued for device "admin",
            # which must not be flushed into the admin's socket.
            await web({"id": "push-offline", "assignee": LEGACY_ADMIN_ID})
            await web({"id": "push-w1", "assignee": "iw1"})
            assert await recv(w1) == {"type": "push", "record": "push-w1", "reason": "create"}
            async with websockets.connect(ws_url(srv, tok["admin-worker"])) as aw:
                assert await recv(aw) == {"type": "push", "record": "push-offline",
                                          "reason": "create"}
                await web({"id": "push-online", "assignee": LEGACY_ADMIN_ID})
                assert await recv(aw) == {"type": "push", "record": "push-online",
                                          "reason": "create"}
                await assert_silent(aw)
            await assert_silent(admin)
            await assert_silent(w1)
        # A socket opened later by the admin gets nothing queued for "admin".
        async with websockets.connect(ws_url(srv, tok["admin"])) as admin:
            await assert_silent(admin)
    asyncio.run(go())


@pytest.mark.parametrize("body,where", [
    ({"user": "admin", "role": "worker"}, "user"),
    ({"user": "admin", "role": "dispatcher", "device": "d-admin"}, "user"),
    ({"user": "fine-user", "role": "worker", "device": "admin"}, "device"),
    ({"user": "~admin", "role": "worker"}, "user"),
    ({"user": "fine-user", "role": "sales", "device": "~admin"}, "device"),
])
def test_provisioning_refuses_the_operators_names(legacy, body, where):
    _srv, client, tok = legacy
    r = client.post("/v1/admin/devices", json=body, headers=auth(tok["admin"]))
    assert r.status_code == 400 and r.json()["where"] == where, r.text


def test_admin_files_from_an_older_database_stay_the_admins(tmp_path):
    """Rows owned by "admin" before ADMIN_ID: still the admin's, no migration."""
    old = {"old-done": os.urandom(2000), "old-partial": os.urandom(700)}
    db, files_dir = str(tmp_path / "old.db"), str(tmp_path / "files")
    _legacy_db(db, files_dir, admin_worker=False, admin_files=old)
    with running_server(db=db, files_dir=files_dir) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as client:
        admin, worker = srv.admin_token, srv.provision("lw1")
        r = client.get("/v1/files/old-done", headers=auth(admin))
        assert r.status_code == 200 and r.content == old["old-done"]
        assert client.get("/v1/files/old-done", headers=auth(worker)).status_code == 404
        assert put(client, worker, "old-partial", 700, b"x").status_code == 409
        # The admin resumes its upload from before the change and finishes it.
        st = client.get("/v1/files/old-partial/upload", headers=auth(admin)).json()
        assert st["offset"] == 700
        rest = os.urandom(300)
        assert put(client, admin, "old-partial", 700, rest).status_code == 200
        assert finish(client, admin, "old-partial", old["old-partial"] + rest).status_code == 200


def test_tokens_never_start_with_a_dash():
    """One token in 64 began with "-", and ``client --token -x...`` then failed
    with "expected one argument": the cause of a rare test failure."""
    assert not [t for t in (new_token() for _ in range(3000)) if t.startswith("-")]
