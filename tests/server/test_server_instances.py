"""Several server instances on one PostgreSQL database: one service, pushes across instances.

A device provisioned through instance A syncs through instance B; a
dispatcher change made on A reaches a push socket held by B (LISTEN/NOTIFY,
reference_server.pushbus) with one ``srv_push`` in the trace; changes written
through both instances are each applied once and every device sees every
record of its scope, whichever instance it asks.
"""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
import websockets

from reference_server.testing import running_server

pytest.importorskip("psycopg", reason="the PostgreSQL store needs the pg extra")

RECV_TIMEOUT_S = 10.0  # a push normally crosses in milliseconds; generous on a loaded machine
ADMIN = "instances-admin-token"


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def two(pg_cluster, tmp_path):
    url = pg_cluster.create_database()
    files = str(tmp_path / "files")
    trace_a, trace_b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with running_server(db=url, admin_token=ADMIN, files_dir=files, trace=str(trace_a)) as a, \
            running_server(db=url, admin_token=ADMIN, files_dir=files, trace=str(trace_b)) as b:
        yield a, b, trace_a, trace_b


def sync(base, token, dev, cursor=None, changes=()):
    r = httpx.post(base + "/v1/sync", headers=auth(token), timeout=30,
                   json={"device": dev, "cursor": cursor, "mode": "full", "changes": list(changes)})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_device_provisioned_on_one_instance_syncs_on_the_other(two):
    a, b, *_ = two
    token = a.provision("mw1")
    r = httpx.post(a.url + "/v1/web/jobs", headers=auth(a.dispatcher_token), timeout=30,
                   json={"id": "mj1", "assignee": "mw1", "fields": {"title": "fix"}})
    assert r.status_code == 201, r.text
    first = sync(b.url, token, "mw1")
    assert [x["id"] for x in first["records"]] == ["mj1"]
    # A change through B, a dispatcher edit through A, a cursor from B used on A.
    change = {"change": "mw1-c1", "record": "mj1", "kind": "text", "base_version": 1,
              "fields": {"report": "done"}}
    got = sync(b.url, token, "mw1", first["cursor"], [change])
    assert got["acks"][0]["version"] == 2
    r = httpx.patch(a.url + "/v1/web/jobs/mj1", headers=auth(a.dispatcher_token), timeout=30,
                    json={"fields": {"title": "fix now"}})
    assert r.status_code == 200, r.text
    later = sync(a.url, token, "mw1", got["cursor"], [change])  # the retry, on the other instance
    assert later["acks"][0]["version"] == 2  # acknowledged again, not applied again
    assert [(x["id"], x["version"], x["fields"]["title"]) for x in later["records"]] == \
        [("mj1", 3, "fix now")]


def test_a_push_from_one_instance_reaches_a_socket_on_the_other(two):
    a, b, trace_a, trace_b = two
    token = a.provision("mw2")

    async def go():
        ws_url = b.url.replace("http://", "ws://") + f"/v1/push?token={token}"
        async with websockets.connect(ws_url) as ws:
            await ws.send('{"type":"ping"}')  # the socket is registered once it answers
            assert orjson.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S)) == {"type": "pong"}
            r = await asyncio.to_thread(
                httpx.post, a.url + "/v1/web/jobs", headers=auth(a.dispatcher_token), timeout=30,
                json={"id": "mj2", "assignee": "mw2"})
            assert r.status_code == 201, r.text
            msg = orjson.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S))
            assert msg == {"type": "push", "record": "mj2", "reason": "create"}
    asyncio.run(go())
    pushes_a = [e for e in map(orjson.loads, trace_a.read_bytes().splitlines()) if e["ev"] == "srv_push"]
    pushes_b = [e for e in map(orjson.loads, trace_b.read_bytes().splitlines()) if e["ev"] == "srv_push"]
    assert [(e["dev"], e["record"]) for e in pushes_a] == [("mw2", "mj2")] and pushes_b == []


def test_writes_through_both_instances_interleave_in_one_sequence(two):
    a, b, *_ = two
    tokens = {d: a.provision(d) for d in ("mw3", "mw4")}
    cursors = {d: sync(b.url, tokens[d], d)["cursor"] for d in tokens}
    for i in range(12):
        inst = (a, b)[i % 2]
        dev = ("mw3", "mw4")[i % 2]
        r = httpx.post(inst.url + "/v1/web/jobs", headers=auth(inst.dispatcher_token), timeout=30,
                       json={"id": f"mx{i}", "assignee": dev})
        assert r.status_code == 201, r.text
        sync(inst.url, tokens[dev], dev, None, [{
            "change": f"{dev}-n{i}", "record": f"{dev}-own{i}", "kind": "text",
            "base_version": None, "fields": {"n": i}}])
    for dev in tokens:  # each device, asking the instance it did not write through last
        seen = {}
        body = sync(a.url, tokens[dev], dev, cursors[dev])
        seen.update({x["id"]: x["version"] for x in body["records"]})
        mine = {f"mx{i}" for i in range(12) if ("mw3", "mw4")[i % 2] == dev}
        own = {f"{dev}-own{i}" for i in range(12) if ("mw3", "mw4")[i % 2] == dev}
        assert set(seen) == mine | own, (dev, sorted(seen))
