"""The HTTP API: auth boundaries, bad input, web API, metrics, OpenAPI vs docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate as validate_openapi

from reference_server import limits

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(srv, client, uid):
    """Two fresh workers with one job each."""
    a, b = uid("wa"), uid("wb")
    ta, tb = srv.provision(a), srv.provision(b)
    ja, jb = uid("job"), uid("job")
    d = auth(srv.dispatcher_token)
    for j, w in ((ja, a), (jb, b)):
        r = client.post("/v1/web/jobs", json={"id": j, "assignee": w,
                                              "fields": {"title": j}}, headers=d)
        assert r.status_code == 201, r.text
    return {"a": a, "b": b, "ta": ta, "tb": tb, "ja": ja, "jb": jb, "d": d}


def body(dev, changes=(), cursor=None, mode="full"):
    return {"device": dev, "cursor": cursor, "mode": mode, "changes": list(changes)}


def test_health_and_openapi_need_no_token_and_everything_else_does(client):
    assert client.get("/v1/health").json() == {"ok": True}
    assert client.get("/openapi.json").json()["paths"]["/openapi.json"]["get"]["security"] == []
    for method, path in [("GET", "/v1/metrics"),
                         ("POST", "/v1/sync"), ("GET", "/v1/web/jobs"),
                         ("POST", "/v1/admin/devices"), ("GET", "/v1/files/f1"),
                         ("GET", "/v1/files/f1/upload")]:
        for headers in ({}, auth("wrong"), {"Authorization": "Basic abc"}):
            r = client.request(method, path, headers=headers)
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["error"] and r.headers["www-authenticate"] == "Bearer"


def test_worker_sees_only_its_records(client, world):
    r = client.post("/v1/sync", json=body(world["a"]), headers=auth(world["ta"]))
    assert [x["id"] for x in r.json()["records"]] == [world["ja"]]


def test_worker_change_on_other_workers_record_is_refused(client, world):
    ch = {"change": "c1", "record": world["jb"], "kind": "text", "base_version": 1,
          "fields": {"title": "hijack"}}
    r = client.post("/v1/sync", json=body(world["a"], [ch]), headers=auth(world["ta"]))
    assert r.status_code == 200
    assert r.json()["acks"][0]["error"] == "not found"
    rec = client.get(f"/v1/web/jobs/{world['jb']}", headers=world["d"]).json()
    assert rec["fields"]["title"] == world["jb"] and rec["version"] == 1


def test_saved_at_is_accepted_and_stores_nothing(client, world):
    # docs/protocol.md: "saved_at ... The server stores nothing of it".
    ch = {"change": "c-saved", "record": world["ja"], "kind": "text", "base_version": 1,
          "fields": {"note": "n"}, "saved_at": 1_800_000_000.25}
    r = client.post("/v1/sync", json=body(world["a"], [ch]), headers=auth(world["ta"]))
    assert r.status_code == 200 and r.json()["acks"][0]["version"] == 2
    rec = client.get(f"/v1/web/jobs/{world['ja']}", headers=world["d"]).json()
    assert "saved_at" not in rec["fields"] and rec["fields"]["note"] == "n"


def test_worker_cannot_sync_as_another_device(client, world):
    r = client.post("/v1/sync", json=body(world["b"]), headers=auth(world["ta"]))
    assert r.status_code == 403 and r.json()["where"] == "device"


def test_dispatcher_endpoints_refuse_workers(client, world):
    h = auth(world["ta"])
    j = world["ja"]
    for method, path, payload in [
            ("GET", "/v1/web/jobs", None), ("POST", "/v1/web/jobs", {"fields": {}}),
            ("GET", f"/v1/web/jobs/{j}", None), ("PATCH", f"/v1/web/jobs/{j}", {"fields": {"a": 1}}),
            ("POST", f"/v1/web/jobs/{j}/assign", {"assignee": world["a"]}),
            ("POST", f"/v1/web/jobs/{j}/unassign", {}),
            ("POST", f"/v1/web/jobs/{j}/status", {"status": "x"}),
            ("POST", f"/v1/web/jobs/{j}/attach", {"file": "f"}),
            ("POST", "/v1/web/snapshot", {}), ("GET", "/v1/metrics", None),
            ("POST", "/v1/admin/devices", {"user": "x", "role": "worker"})]:
        r = client.request(method, path, json=payload, headers=h)
        assert r.status_code == 403, (method, path, r.text)
    # The dispatcher is not the admin, and does not sync.
    r = client.post("/v1/admin/devices", json={"user": "x", "role": "worker"}, headers=world["d"])
    assert r.status_code == 403
    assert client.post("/v1/sync", json=body("dispatcher"), headers=world["d"]).status_code == 403


@pytest.mark.parametrize("payload,where", [
    (b"{not json", None),
    (b"[]", None),
    (b'{"device": "x", "cursor": null}', "mode"),
    (b'{"device": "D", "cursor": null, "mode": "full", "extra": 1}', "extra"),
    (b'{"device": "D", "cursor": null, "mode": "sideways"}', "mode"),
    (b'{"device": "D", "cursor": 5, "mode": "full"}', "cursor"),
    (b'{"device": "D", "cursor": "12.abcdefabcdefabcd", "mode": "full"}', "cursor"),
    (b'{"device": "D", "cursor": null, "mode": "full", "changes": {}}', "changes"),
    (b'{"device": "D", "cursor": null, "mode": "full", "changes": [{"change": "c",'
     b' "record": "r", "kind": "text", "base_version": "4", "fields": {"a": 1}}]}',
     "changes[0].base_version"),
    (b'{"device": "D", "cursor": null, "mode": "full", "changes": [{"change": "c",'
     b' "record": "r", "kind": "status", "base_version": 1, "fields": {"a": 1}}]}',
     "changes[0].fields"),
    (b'{"device": "D", "cursor": null, "mode": "full", "changes": [{"change": "c",'
     b' "record": "r", "kind": "photo", "base_version": 1}]}', "changes[0].file"),
    (b'{"device": "D", "cursor": null, "mode": "download", "changes": [{"change": "c",'
     b' "record": "r", "kind": "text", "base_version": 1, "fields": {"a": 1}}]}', "changes"),
    (b'{"device": "D", "cursor": null, "mode": "full", "changes": [{"change": "c",'
     b' "record": "r", "kind": "text", "base_version": 1, "fields": {"a": 1},'
     b' "saved_at": "yesterday"}]}', "changes[0].saved_at"),
])
def test_malformed_sync_is_400_naming_where_and_stores_nothing(client, world, payload, where):
    payload = payload.replace(b'"D"', f'"{world["a"]}"'.encode())
    r = client.post("/v1/sync", content=payload, headers=auth(world["ta"]))
    assert r.status_code == 400, r.text
    assert r.json()["where"] == where and r.json()["error"]
    rec = client.get(f"/v1/web/jobs/{world['ja']}", headers=world["d"]).json()
    assert rec["version"] == 1


def test_oversized_body_is_413(client, world):
    big = b'{"device": "x", "pad": "' + b"x" * limits.MAX_JSON_BYTES + b'"}'
    r = client.post("/v1/sync", content=big, headers=auth(world["ta"]))
    assert r.status_code == 413 and "body larger" in r.json()["error"]


def test_web_api_round_trip(client, world, uid):
    d, j = world["d"], uid("job")
    r = client.post("/v1/web/jobs", json={"id": j, "fields": {"title": "T"}}, headers=d)
    assert r.status_code == 201 and r.json()["assignee"] is None
    assert client.post("/v1/web/jobs", json={"id": j}, headers=d).status_code == 409
    r = client.post(f"/v1/web/jobs/{j}/assign", json={"assignee": world["a"]}, headers=d)
    assert r.json()["assignee"] == world["a"] and r.json()["version"] == 2
    r = client.post(f"/v1/web/jobs/{j}/status", json={"status": "en_route"}, headers=d)
    assert r.json()["fields"]["status"] == "en_route"
    r = client.patch(f"/v1/web/jobs/{j}", json={"fields": {"address": "A"}}, headers=d)
    assert r.json()["fields"] == {"title": "T", "status": "en_route", "address": "A"}
    listed = client.get("/v1/web/jobs", params={"assignee": world["a"]}, headers=d).json()
    assert {x["id"] for x in listed["records"]} == {world["ja"], j}
    r = client.post(f"/v1/web/jobs/{j}/unassign", json={}, headers=d)
    assert r.json()["assignee"] is None and r.json()["version"] == 5
    r = client.post(f"/v1/web/jobs/{j}/assign", json={"assignee": "nobody"}, headers=d)
    assert r.status_code == 404 and r.json()["where"] == "assignee"
    assert client.get("/v1/web/jobs/nope", headers=d).status_code == 404
    r = client.post(f"/v1/web/jobs/{j}/attach", json={"file": "never-uploaded"}, headers=d)
    assert r.status_code == 409
    r = client.post("/v1/web/snapshot", json={"devices": [world["a"]]}, headers=d)
    assert r.json() == {"snapshots": {world["a"]: {world["ja"]: 1}}}


def test_admin_provisioning_conflicts(client, srv, uid):
    h = auth(srv.admin_token)
    u = uid("u")
    r = client.post("/v1/admin/devices", json={"user": u, "role": "sales"}, headers=h)
    assert r.status_code == 201 and r.json()["device"] == u and r.json()["token"]
    assert client.post("/v1/admin/devices", json={"user": u, "role": "sales"},
                       headers=h).status_code == 409
    r = client.post("/v1/admin/devices", json={"user": u, "role": "worker", "device": u + "b"},
                    headers=h)
    assert r.status_code == 409 and r.json()["where"] == "role"
    r = client.post("/v1/admin/devices", json={"user": u, "role": "sales", "device": u + "b"},
                    headers=h)
    assert r.status_code == 201
    r = client.post("/v1/admin/devices", json={"user": u, "role": "admin"}, headers=h)
    assert r.status_code == 400


def test_metrics_count_requests(client, srv, world):
    client.post("/v1/sync", json=body(world["a"]), headers=auth(world["ta"]))
    m = client.get("/v1/metrics", headers=world["d"]).json()
    s = m["routes"]["POST /v1/sync"]
    assert s["count"] >= 1 and s["p50_ms"] > 0 and s["p99_ms"] >= s["p50_ms"]


def test_unknown_route_is_json_404(client, srv):
    r = client.get("/v1/nothing", headers=auth(srv.admin_token))
    assert r.status_code == 404 and "error" in r.json()


def test_openapi_is_valid_and_matches_protocol_doc(client, srv):
    doc = client.get("/openapi.json", headers=auth(srv.admin_token)).json()
    validate_openapi(doc)
    served = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    table = set(re.findall(r"^\| (GET|POST|PATCH|PUT|DELETE) \| (\S+) \|", DOC.read_text(),
                           re.M))
    assert served == table
    # And the app routes every documented path+method.
    from reference_server.app import create_app

    app = create_app()
    routed = {(m, r.path) for r in app.routes for m in getattr(r, "methods", None) or ()}
    app.state.server.close()
    assert table - {("GET", "/v1/push")} <= routed


def test_startup_pays_the_thread_pools_first_hand_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first run_in_threadpool of a process imports and starts its machinery
    (27 ms here): made at startup, not inside a run's first upload's finish."""
    import asyncio
    import threading

    from reference_server import app as app_module

    threads: list[str] = []
    real = app_module.run_in_threadpool

    async def recording(fn, *args, **kwargs):
        threads.append("call")
        return await real(lambda: threads.append(threading.current_thread().name))

    monkeypatch.setattr(app_module, "run_in_threadpool", recording)
    app = app_module.create_app()

    async def start_and_stop() -> None:
        async with app.router.lifespan_context(app):
            assert len(threads) == 2 and threads[1] != threading.main_thread().name

    asyncio.run(start_and_stop())
