"""Push over WebSocket, and the server trace checked by the rule catalogue."""

from __future__ import annotations

import asyncio

import orjson
import pytest
import websockets

from bench.rules.checker import check_events
from bench.rules.policies import Policy
from bench.trace import read_trace

# Generous on a loaded 2-core CI machine; a push normally arrives in a millisecond.
RECV_TIMEOUT_S = 10.0
# How long we wait to be sure a push does NOT arrive (a ping round trip follows it).
SILENCE_PROBE = {"type": "ping"}


def ws_url(srv, token=None):
    base = srv.url.replace("http://", "ws://") + "/v1/push"
    return base + (f"?token={token}" if token else "")


async def recv(ws):
    return orjson.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S))


async def assert_no_push(ws):
    # Pings are answered in order after any push already queued to this socket.
    await ws.send(orjson.dumps(SILENCE_PROBE).decode())
    assert await recv(ws) == {"type": "pong"}


def test_bad_token_is_refused(srv):
    async def go():
        for url, headers in ((ws_url(srv), {}), (ws_url(srv, "nope"), {}),
                             (ws_url(srv), {"Authorization": "Bearer nope"})):
            with pytest.raises(websockets.exceptions.InvalidStatus):
                async with websockets.connect(url, additional_headers=headers):
                    pass
    asyncio.run(go())


def test_dispatcher_changes_push_to_assignee_only(srv, client, uid):
    a, b = uid("pa"), uid("pb")
    ta, tb = srv.provision(a), srv.provision(b)
    job = uid("job")
    d = {"Authorization": f"Bearer {srv.dispatcher_token}"}

    async def go():
        async with websockets.connect(ws_url(srv), additional_headers={
                "Authorization": f"Bearer {ta}"}) as wa, \
                websockets.connect(ws_url(srv, tb)) as wb:
            async def web(method, path, body):
                return await asyncio.to_thread(client.request, method, path, json=body,
                                               headers=d)
            await web("POST", "/v1/web/jobs", {"id": job, "assignee": a})
            assert await recv(wa) == {"type": "push", "record": job, "reason": "create"}
            await web("POST", f"/v1/web/jobs/{job}/status", {"status": "started"})
            assert await recv(wa) == {"type": "push", "record": job, "reason": "status"}
            await web("PATCH", f"/v1/web/jobs/{job}", {"fields": {"note": "n"}})
            assert await recv(wa) == {"type": "push", "record": job, "reason": "edit"}
            await assert_no_push(wb)
            await web("POST", f"/v1/web/jobs/{job}/assign", {"assignee": b})
            assert await recv(wb) == {"type": "push", "record": job, "reason": "assign"}
            assert await recv(wa) == {"type": "push", "record": job, "reason": "unassign"}
            # A worker's own sync pushes nothing.
            sync = {"device": b, "cursor": None, "mode": "upload", "changes": [
                {"change": "c1", "record": job, "kind": "status", "base_version": 4,
                 "fields": {"status": "finished"}}]}
            r = await asyncio.to_thread(client.post, "/v1/sync", json=sync,
                                        headers={"Authorization": f"Bearer {tb}"})
            assert r.json()["acks"][0]["version"] == 5
            await assert_no_push(wa)
            await assert_no_push(wb)
    asyncio.run(go())
    r = client.post("/v1/web/snapshot", json={"devices": [a, b]}, headers=d)
    assert r.json()["snapshots"] == {a: {}, b: {job: 5}}

    events = read_trace(srv.trace)  # validates every line and the t order
    mine = [e for e in events if e.get("record") == job or e.get("dev") in (a, b)]
    kinds = [e["ev"] for e in mine]
    assert kinds.count("dispatch") == 4 and kinds.count("srv_push") == 5
    assert kinds.count("srv_apply") == 1 and kinds.count("srv_snapshot") == 2
    policy = Policy(name="server", rules=("planado.push_sent", "planado.push_scope",
                                          "core.exactly_once"))
    verdicts = {r.id: r.verdict for r in check_events(mine, policy)}
    assert verdicts == {"planado.push_sent": "pass", "planado.push_scope": "pass",
                        "core.exactly_once": "pass"}


def test_push_waits_briefly_for_a_device_that_is_not_connected(srv, client, uid):
    a = uid("pq")
    ta = srv.provision(a)
    job = uid("job")
    d = {"Authorization": f"Bearer {srv.dispatcher_token}"}
    client.post("/v1/web/jobs", json={"id": job, "assignee": a}, headers=d)

    async def go():
        async with websockets.connect(ws_url(srv, ta)) as wa:
            assert await recv(wa) == {"type": "push", "record": job, "reason": "create"}
            await assert_no_push(wa)  # delivered once, not again
    asyncio.run(go())
    pushes = [e for e in read_trace(srv.trace) if e["ev"] == "srv_push" and e["dev"] == a]
    assert len(pushes) == 1


def test_user_with_two_devices_gets_pushes_on_both(srv, client, uid):
    u = uid("two")
    t1, t2 = srv.provision(u, device=u + "-phone"), srv.provision(u, device=u + "-tablet")
    job = uid("job")
    d = {"Authorization": f"Bearer {srv.dispatcher_token}"}

    async def go():
        async with websockets.connect(ws_url(srv, t1)) as w1, \
                websockets.connect(ws_url(srv, t2)) as w2:
            await asyncio.to_thread(client.post, "/v1/web/jobs", headers=d,
                                    json={"id": job, "assignee": u})
            for ws in (w1, w2):
                assert await recv(ws) == {"type": "push", "record": job, "reason": "create"}
    asyncio.run(go())
    # Both devices see the user's scope.
    for dev, tok in ((u + "-phone", t1), (u + "-tablet", t2)):
        r = client.post("/v1/sync", headers={"Authorization": f"Bearer {tok}"},
                        json={"device": dev, "cursor": None, "mode": "download"})
        assert [x["id"] for x in r.json()["records"]] == [job]
