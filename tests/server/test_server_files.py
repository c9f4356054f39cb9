"""Files: resumable upload, hash check, ranged download, who may read."""

from __future__ import annotations

import hashlib
import os

import pytest

from reference_server import limits


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def put(client, token, fid, offset, data):
    return client.patch(f"/v1/files/{fid}/upload", content=data,
                        headers={**auth(token), "Upload-Offset": str(offset),
                                 "Content-Type": "application/octet-stream"})


def finish(client, token, fid, data):
    return client.post(f"/v1/files/{fid}/finish", headers=auth(token),
                       json={"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})


@pytest.fixture
def worker(srv, uid):
    w = uid("fw")
    return w, srv.provision(w)


def test_resumable_upload_and_ranged_download(client, worker, uid):
    w, tok = worker
    fid = uid("f")
    data = os.urandom(200_000)
    st = client.get(f"/v1/files/{fid}/upload", headers=auth(tok)).json()
    assert st == {"file": fid, "offset": 0, "complete": False, "sha256": None, "bytes": None}
    assert put(client, tok, fid, 0, data[:70_000]).json() == {"file": fid, "offset": 70_000}
    # A client that lost the response asks how much arrived and continues.
    assert client.get(f"/v1/files/{fid}/upload", headers=auth(tok)).json()["offset"] == 70_000
    r = put(client, tok, fid, 0, data[:10])  # stale offset
    assert r.status_code == 409 and r.json()["offset"] == 70_000
    r = put(client, tok, fid, 90_000, data[90_000:])  # past the end
    assert r.status_code == 409 and r.json()["where"] == "Upload-Offset"
    r = finish(client, tok, fid, data)
    assert r.status_code == 409 and r.json()["offset"] == 70_000  # incomplete: kept
    assert put(client, tok, fid, 70_000, data[70_000:]).json()["offset"] == len(data)
    r = finish(client, tok, fid, data)
    assert r.status_code == 200 and r.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert finish(client, tok, fid, data).status_code == 200  # idempotent
    assert put(client, tok, fid, len(data), b"x").status_code == 409  # finished
    full = client.get(f"/v1/files/{fid}", headers=auth(tok))
    assert full.status_code == 200 and full.content == data
    assert full.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    part = client.get(f"/v1/files/{fid}", headers={**auth(tok), "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = client.get(f"/v1/files/{fid}", headers={**auth(tok), "Range": "bytes=-5"})
    assert tail.content == data[-5:]
    open_end = client.get(f"/v1/files/{fid}", headers={**auth(tok), "Range": "bytes=199990-"})
    assert open_end.content == data[199_990:]
    # A 5,000-digit offset once hit int()'s digit limit and gave a 500.
    huge = "9" * 5000
    assert client.get(f"/v1/files/{fid}", headers={**auth(tok), "Range": f"bytes=0-{huge}"}).content == data
    assert client.get(f"/v1/files/{fid}", headers={**auth(tok), "Range": f"bytes=-{huge}"}).content == data
    for bad in ("bytes=300000-", "bytes=5-1", "lines=1-2", "bytes=1-2,4-5", "bytes=x-",
                f"bytes={huge}-", f"bytes={huge}-{huge}"):
        r = client.get(f"/v1/files/{fid}", headers={**auth(tok), "Range": bad})
        assert r.status_code == 416, bad
        assert r.headers["content-range"] == f"bytes */{len(data)}"


def test_a_download_is_read_on_the_event_loop(client, worker, uid, monkeypatch):
    # A plain iterator body goes through Starlette's thread pool, one hand-off a
    # chunk (milliseconds before the first byte on a loaded machine, which a
    # time-scaled run reads as link time); the blob is read on the loop instead.
    import asyncio

    from reference_server.files import BlobStore

    w, tok = worker
    fid = uid("f")
    data = os.urandom(3 * limits.FILE_CHUNK_BYTES)
    assert put(client, tok, fid, 0, data).status_code == 200
    assert finish(client, tok, fid, data).status_code == 200
    on_loop: list[bool] = []
    read = BlobStore.read

    def spy(self, sha256, start, end):
        for chunk in read(self, sha256, start, end):
            try:
                asyncio.get_running_loop()
                on_loop.append(True)
            except RuntimeError:  # a worker thread runs no loop
                on_loop.append(False)
            yield chunk

    monkeypatch.setattr(BlobStore, "read", spy)
    r = client.get(f"/v1/files/{fid}", headers=auth(tok))
    assert r.content == data
    assert on_loop == [True, True, True]


def test_wrong_hash_is_422_and_nothing_stored(client, worker, uid):
    _, tok = worker
    fid = uid("f")
    put(client, tok, fid, 0, b"hello world")
    r = finish(client, tok, fid, b"hello worle")
    assert r.status_code == 422 and r.json()["where"] == "sha256"
    st = client.get(f"/v1/files/{fid}/upload", headers=auth(tok)).json()
    assert st["offset"] == 0 and st["complete"] is False
    assert client.get(f"/v1/files/{fid}", headers=auth(tok)).status_code == 404
    r = client.post(f"/v1/files/{fid}/finish", headers=auth(tok),
                    json={"sha256": "A" * 64, "bytes": 1})
    assert r.status_code == 400 and r.json()["where"] == "sha256"


def test_bad_upload_offset_header_is_400(client, worker, uid):
    _, tok = worker
    fid = uid("f")
    r = client.patch(f"/v1/files/{fid}/upload", content=b"x", headers=auth(tok))
    assert r.status_code == 400 and r.json()["where"] == "Upload-Offset"
    r = put(client, tok, fid, "-1", b"x")
    assert r.status_code == 400


def test_oversized_file_is_413_and_chunk_discarded(client, worker, uid, monkeypatch):
    _, tok = worker
    fid = uid("f")
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    assert put(client, tok, fid, 0, b"a" * 600).status_code == 200
    r = put(client, tok, fid, 600, b"b" * 600)
    assert r.status_code == 413
    assert client.get(f"/v1/files/{fid}/upload", headers=auth(tok)).json()["offset"] == 600


def test_file_access_follows_scope(client, srv, worker, uid):
    w, tok = worker
    other = uid("fo")
    otok = srv.provision(other)
    fid, job = uid("f"), uid("job")
    data = b"photo bytes"
    put(client, tok, fid, 0, data)
    finish(client, tok, fid, data)
    # Another user can neither read it nor hijack its id.
    assert client.get(f"/v1/files/{fid}", headers=auth(otok)).status_code == 404
    assert client.get(f"/v1/files/{fid}/upload", headers=auth(otok)).status_code == 409
    assert put(client, otok, fid, 0, b"x").status_code == 409
    # Once attached to the other worker's job, that worker may download it.
    d = auth(srv.dispatcher_token)
    client.post("/v1/web/jobs", json={"id": job, "assignee": other}, headers=d)
    r = client.post(f"/v1/web/jobs/{job}/attach", json={"file": fid}, headers=d)
    assert r.status_code == 200 and r.json()["files"][0]["id"] == fid
    assert client.get(f"/v1/files/{fid}", headers=auth(otok)).content == data
    sync = client.post("/v1/sync", headers=auth(otok),
                       json={"device": other, "cursor": None, "mode": "download"}).json()
    assert sync["files"] == [{"id": fid, "record": job, "bytes": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()}]


def test_photo_change_attaches_uploaded_file(client, srv, worker, uid):
    w, tok = worker
    fid, job = uid("f"), uid("job")
    data = b"\x89PNG..."
    client.post("/v1/web/jobs", json={"id": job, "assignee": w},
                headers=auth(srv.dispatcher_token))
    ref = {"id": fid, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    ch = {"change": uid("c"), "record": job, "kind": "photo", "base_version": 1, "file": ref}
    body = {"device": w, "cursor": None, "mode": "upload", "changes": [ch]}
    r = client.post("/v1/sync", json=body, headers=auth(tok))
    assert r.status_code == 409 and r.json()["where"] == "changes[0].file.id"
    put(client, tok, fid, 0, data)
    finish(client, tok, fid, data)
    r = client.post("/v1/sync", json=body, headers=auth(tok))
    assert r.status_code == 200 and r.json()["acks"][0]["version"] == 2


def test_bytes_that_arrived_before_a_drop_are_kept(client, srv, worker, uid):
    import socket
    import time

    _, tok = worker
    fid = uid("f")
    data = os.urandom(50_000)
    host, port = srv.url.removeprefix("http://").split(":")
    head = (f"PATCH /v1/files/{fid}/upload HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {tok}\r\nUpload-Offset: 0\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode()
    with socket.create_connection((host, int(port))) as s:
        s.sendall(head + data[:20_000])  # the link dies after 20 kB
    # Poll (bounded) until the server has written what arrived; no fixed sleep.
    deadline = time.monotonic() + 20
    while client.get(f"/v1/files/{fid}/upload", headers=auth(tok)).json()["offset"] < 20_000:
        assert time.monotonic() < deadline, "the 20 kB that arrived were not kept"
        time.sleep(0.01)
    while (r := put(client, tok, fid, 20_000, data[20_000:])).status_code == 409:
        # The dropped request may still be finishing ("another request is writing").
        assert r.json()["where"] == "file_id" and time.monotonic() < deadline
        time.sleep(0.01)
    assert r.json()["offset"] == len(data)
    assert finish(client, tok, fid, data).status_code == 200
