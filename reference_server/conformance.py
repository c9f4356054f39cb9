"""A conformance suite for any server that speaks docs/protocol.md.

Theory of operation: :func:`check_server` drives a running server over HTTP and
WebSocket only (no imports of the server's code), so a team can point it at its
own implementation: it provisions users through the admin API, plays a
dispatcher and two workers, and checks the contract's promises one by one:
exactly once, scope, conflicts acked, cursors, removals, files, push. Each
check that fails adds one line to the returned list; an empty list is a pass.

    failures = check_server("http://127.0.0.1:8000", admin_token="...")
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Callable

import httpx
import orjson
import websockets

# A push should arrive in milliseconds; generous for a loaded CI machine.
PUSH_TIMEOUT_S = 10.0


class _Run:
    def __init__(self, url: str, admin_token: str):
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.failures: list[str] = []
        self.tag = secrets.token_hex(3)

    def check(self, ok: bool, what: str) -> bool:
        if not ok:
            self.failures.append(what)
        return ok

    def provision(self, user: str, role: str) -> dict[str, str]:
        r = self.http.post("/v1/admin/devices", json={"user": user, "role": role},
                           headers=self.admin)
        if r.status_code != 201:
            raise RuntimeError(f"POST /v1/admin/devices for {user}: {r.status_code} {r.text}")
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def sync(self, dev: str, auth: dict, *, cursor=None, mode="full", changes=()) -> dict:
        r = self.http.post("/v1/sync", headers=auth, json={
            "device": dev, "cursor": cursor, "mode": mode, "changes": list(changes)})
        if r.status_code != 200:
            raise RuntimeError(f"sync of {dev}: {r.status_code} {r.text}")
        return r.json()


def check_server(url: str, *, admin_token: str) -> list[str]:
    """Run every check against the server at ``url``; return the failures (empty = pass)."""
    run = _Run(url, admin_token)
    try:
        for check in CHECKS:
            try:
                check(run)
            except Exception as exc:  # a crash in one check is that check's failure
                run.failures.append(f"{check.__name__}: {type(exc).__name__}: {exc}")
    finally:
        run.http.close()
    return run.failures


def _auth(run: _Run) -> None:
    run.check(run.http.get("/v1/health").status_code == 200, "GET /v1/health without a token")
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        r = run.http.post("/v1/sync", json={}, headers=headers)
        run.check(r.status_code == 401, f"POST /v1/sync with {headers or 'no token'}: "
                                        f"expected 401, got {r.status_code}")


def _sync_contract(run: _Run) -> None:
    a, b, d = f"ca{run.tag}", f"cb{run.tag}", f"cd{run.tag}"
    ha, hb, hd = run.provision(a, "worker"), run.provision(b, "worker"), \
        run.provision(d, "dispatcher")
    job = f"cjob-{run.tag}"
    r = run.http.post("/v1/web/jobs", json={"id": job, "assignee": a,
                                            "fields": {"title": "T", "status": "new"}},
                      headers=hd)
    run.check(r.status_code == 201, f"dispatcher create: expected 201, got {r.status_code}")
    v0 = r.json()["version"]
    first = run.sync(a, ha)
    run.check([x["id"] for x in first["records"]] == [job], "scope: assignee sees its job")
    run.check(job not in [x["id"] for x in run.sync(b, hb)["records"]],
              "scope: another worker does not see the job")
    change = {"change": f"c1-{run.tag}", "record": job, "kind": "status",
              "base_version": v0, "fields": {"status": "started"}}
    ack = run.sync(a, ha, cursor=first["cursor"], changes=[change])["acks"]
    run.check(len(ack) == 1 and ack[0]["version"] == v0 + 1 and ack[0]["conflict"] is None,
              f"ack of a fresh change: {ack}")
    again = run.sync(a, ha, cursor=first["cursor"], changes=[change])
    run.check(again["acks"] == ack, "exactly once: a replayed change id is acked as before")
    rec = run.http.get(f"/v1/web/jobs/{job}", headers=hd).json()
    run.check(rec["version"] == v0 + 1, "exactly once: a replay does not bump the version")
    hijack = {"change": f"c2-{run.tag}", "record": job, "kind": "text",
              "base_version": v0 + 1, "fields": {"title": "hijack"}}
    ack_b = run.sync(b, hb, changes=[hijack])["acks"]
    run.check(ack_b[0].get("error") is not None, "scope: a change on another worker's record "
                                                 "is refused in its ack")
    rec = run.http.get(f"/v1/web/jobs/{job}", headers=hd).json()
    run.check(rec["fields"].get("title") == "T", "scope: the refused change was not applied")
    stale = {"change": f"c3-{run.tag}", "record": job, "kind": "status",
             "base_version": v0, "fields": {"status": "paused"}}
    ack_s = run.sync(a, ha, mode="upload", changes=[stale])["acks"]
    run.check(ack_s[0]["conflict"] is not None and ack_s[0]["version"] == v0 + 2,
              f"conflict: a stale change is applied and reported: {ack_s}")
    cur = run.sync(a, ha)["cursor"]
    run.check(run.sync(a, ha, cursor=cur)["records"] == [], "cursor: nothing new, nothing sent")
    run.http.patch(f"/v1/web/jobs/{job}", json={"fields": {"note": "n"}}, headers=hd)
    after = run.sync(a, ha, cursor=cur)
    run.check([x["id"] for x in after["records"]] == [job], "cursor: a web edit is sent")
    run.http.post(f"/v1/web/jobs/{job}/unassign", json={}, headers=hd)
    run.check(run.sync(a, ha, cursor=after["cursor"])["removed"] == [job],
              "removed: an unassigned job is listed in removed")
    r = run.http.post("/v1/sync", headers=ha, json={"device": a, "cursor": "1.forged",
                                                    "mode": "full"})
    run.check(r.status_code == 400, f"a forged cursor: expected 400, got {r.status_code}")


def _files(run: _Run) -> None:
    w = f"cf{run.tag}"
    h = run.provision(w, "worker")
    fid, data = f"cfile-{run.tag}", bytes(range(256)) * 40
    base = f"/v1/files/{fid}"
    run.http.patch(base + "/upload", content=data[:4000], headers={**h, "Upload-Offset": "0"})
    off = run.http.get(base + "/upload", headers=h).json()["offset"]
    run.check(off == 4000, f"files: offset after 4000 bytes is {off}")
    run.http.patch(base + "/upload", content=data[4000:], headers={**h, "Upload-Offset": "4000"})
    bad = run.http.post(base + "/finish", headers=h,
                        json={"sha256": "0" * 64, "bytes": len(data)})
    run.check(bad.status_code == 422, f"files: a wrong hash gives {bad.status_code}, not 422")
    run.http.patch(base + "/upload", content=data, headers={**h, "Upload-Offset": "0"})
    ok = run.http.post(base + "/finish", headers=h,
                       json={"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    run.check(ok.status_code == 200, f"files: finish gives {ok.status_code}")
    part = run.http.get(base, headers={**h, "Range": "bytes=10-19"})
    run.check(part.status_code == 206 and part.content == data[10:20], "files: a range read")


def _push(run: _Run) -> None:
    w, d = f"cp{run.tag}", f"cq{run.tag}"
    h, hd = run.provision(w, "worker"), run.provision(d, "dispatcher")
    job = f"cpjob-{run.tag}"
    ws_url = run.url.replace("http://", "ws://").replace("https://", "wss://") + "/v1/push"

    async def go() -> dict:
        async with websockets.connect(ws_url, additional_headers=h) as ws:
            await asyncio.to_thread(run.http.post, "/v1/web/jobs", headers=hd,
                                    json={"id": job, "assignee": w})
            return orjson.loads(await asyncio.wait_for(ws.recv(), PUSH_TIMEOUT_S))

    msg = asyncio.run(go())
    run.check(msg.get("type") == "push" and msg.get("record") == job,
              f"push: a job created for the worker is pushed: {msg}")


CHECKS: tuple[Callable[[_Run], None], ...] = (_auth, _sync_contract, _files, _push)
