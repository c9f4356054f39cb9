"""An acknowledged change survives kill -9 (a real subprocess, a real SIGKILL),
over SQLite and over PostgreSQL (``store_db``)."""

from __future__ import annotations

import hashlib

import httpx

from reference_server.testing import running_server


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_acked_change_and_partial_upload_survive_sigkill(tmp_path, store_db):
    db, files = store_db, str(tmp_path / "files")
    admin = "admin-secret-for-test"
    data = bytes(range(256)) * 100
    change = {"change": "w1-c1", "record": "job-1", "kind": "status", "base_version": 1,
              "fields": {"status": "started"}}
    with running_server(db=db, subprocess=True, admin_token=admin, files_dir=files) as srv:
        tok = srv.provision("w1")
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            r = c.post("/v1/web/jobs", json={"id": "job-1", "assignee": "w1"},
                       headers=auth(srv.dispatcher_token))
            assert r.status_code == 201
            r = c.post("/v1/sync", headers=auth(tok), json={
                "device": "w1", "cursor": None, "mode": "upload", "changes": [change]})
            assert r.json()["acks"][0]["version"] == 2
            r = c.patch("/v1/files/f1/upload", content=data[:10_000],
                        headers={**auth(tok), "Upload-Offset": "0"})
            assert r.json()["offset"] == 10_000
        srv.kill()
        assert srv.process.returncode == -9
    with running_server(db=db, subprocess=True, admin_token=admin, files_dir=files) as srv:
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            r = c.post("/v1/sync", headers=auth(tok), json={
                "device": "w1", "cursor": None, "mode": "full", "changes": [change]})
            body = r.json()
            # The replay is acknowledged with the version it produced, not applied again.
            assert body["acks"][0]["version"] == 2
            assert body["records"][0]["version"] == 2
            assert body["records"][0]["fields"] == {"status": "started"}
            assert c.get("/v1/files/f1/upload", headers=auth(tok)).json()["offset"] == 10_000
            c.patch("/v1/files/f1/upload", content=data[10_000:],
                    headers={**auth(tok), "Upload-Offset": "10000"})
            r = c.post("/v1/files/f1/finish", headers=auth(tok),
                       json={"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
            assert r.status_code == 200
            assert c.get("/v1/files/f1", headers=auth(tok)).content == data
