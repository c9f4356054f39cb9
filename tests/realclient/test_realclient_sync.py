"""The real client against the real reference server on loopback."""

from __future__ import annotations

import httpx
from realclient_helpers import WAIT_S, config, run, server_view, web

from bench.trace import TraceReader
from reference_client.client import DeviceClient
from reference_server.testing import running_server


def idle(dev: DeviceClient) -> bool:
    return dev.unsent == 0 and not dev.busy


def test_round_trip_edit_reaches_server_and_server_record_reaches_device(tmp_path):
    with running_server() as srv:
        # K = 300: Planado sends text edits with its 2-minute timer, 0.4 s of wall time.
        cfg = config(srv, tmp_path, time_scale=300)
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1", fields={"title": "Boiler"})

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")  # Planado: sync on open
                await dev.wait_for(lambda d: "job-1" in d.records(), WAIT_S)
                await dev.edit("job-1", "text", fields={"note": "done"})
                await dev.edit("new-report", "text", fields={"body": "made on the phone"})
                await dev.wait_for(idle, WAIT_S)
                return await dev.snapshot(), dev.errors

        snap, errors = run(main())
        assert errors == []
        assert snap == server_view(srv, "w1")
        assert snap["job-1"] == 2 and snap["new-report"] == 1
        assert web(srv, "GET", "/v1/web/jobs/job-1")["fields"]["note"] == "done"


def test_offline_edits_are_queued_then_sent_on_reconnect(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.wait_for(lambda d: "job-1" in d.records() and not d.busy, WAIT_S)
                await dev.set_link("offline")
                await dev.edit("job-1", "status", status="started")
                await dev.edit("job-1", "text", fields={"note": "offline"})
                assert dev.unsent == 2 and dev.shown_unsent == 2
                assert web(srv, "GET", "/v1/web/jobs/job-1")["version"] == 1  # nothing sent
                await dev.set_link("lte")
                await dev.wait_for(idle, WAIT_S)
                return dev.events

        events = run(main())
        job = web(srv, "GET", "/v1/web/jobs/job-1")
        assert job["version"] == 3 and job["fields"] == {"status": "started", "note": "offline"}
        reconnect = [e for e in events if e["ev"] == "link" and e["class"] == "lte"][0]
        acks = [e for e in events if e["ev"] == "ack"]
        assert len(acks) == 2 and all(a["t"] >= reconnect["t"] for a in acks)


def test_push_over_websocket_triggers_a_sync(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=1)  # real time: no timer fires in the test

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.wait_for(lambda d: d.push.connected and not d.busy, WAIT_S)
                web(srv, "POST", "/v1/web/jobs", id="job-9", assignee="w1")
                await dev.wait_for(lambda d: "job-9" in d.records(), WAIT_S)
                return dev.events

        events = run(main())
        push = [e for e in events if e["ev"] == "push"]
        assert push and push[0]["record"] == "job-9" and push[0]["reason"] == "create"
        syncs = [e for e in events if e["ev"] == "sync_start" and e["trigger"] == "push"]
        assert syncs and syncs[0]["t"] >= push[0]["t"]
        recv = [e for e in events if e["ev"] == "recv" and e["record"] == "job-9"][0]
        assert recv["sync"] == syncs[0]["sync"]


def test_push_listener_runs_only_while_running_and_online(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                assert not dev.push.running  # app closed: no socket
                await dev.app("opened")
                await dev.wait_for(lambda d: d.push.connected, WAIT_S)
                await dev.set_link("offline")
                assert not dev.push.running
                await dev.set_link("3g")
                await dev.wait_for(lambda d: d.push.connected, WAIT_S)
                assert dev.push.connects == 2

        run(main())


def test_trace_is_valid_and_holds_the_device_story(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60, seed=3)
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.edit("job-1", "photo", nbytes=100_000)
                await dev.manual("pull")
                await dev.wait_for(idle, WAIT_S)
                await dev.snapshot()
                await dev.app("closed")

        run(main())
        reader = TraceReader(cfg.trace)
        events = list(reader)  # raises on any malformed line
        meta = reader.meta
        assert meta["policy"] == "planado" and meta["schema"] == "syncbench.trace/1"
        assert meta["seed"] == 3 and meta["time_scale"] == 60
        kinds = [e["ev"] for e in events]
        for kind in ("link", "app", "edit", "sync_start", "sync_end", "file_start", "file_end",
                     "ack", "unsent", "last_sync", "manual", "snapshot"):
            assert kind in kinds, kind
        assert all(e["dev"] == "w1" for e in events)
        ts = [e["t"] for e in events]
        assert ts == sorted(ts)
        up = [e for e in events if e["ev"] == "file_end"][0]
        assert up["ok"] and up["bytes"] == 100_000


def test_refused_change_is_not_counted_as_saved(tmp_path):
    with running_server() as srv:
        srv.provision("w2")
        cfg = config(srv, tmp_path, time_scale=60)
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.wait_for(lambda d: "job-1" in d.records() and not d.busy, WAIT_S)
                await dev.set_link("offline")
                web(srv, "POST", "/v1/web/jobs/job-1/assign", assignee="w2")
                await dev.edit("job-1", "text", fields={"note": "too late"})
                await dev.set_link("wifi")
                await dev.wait_for(idle, WAIT_S)
                return dev.events, dev.store.refused()

        events, refused = run(main())
        edit = [e for e in events if e["ev"] == "edit"][0]
        assert refused == {edit["change"]: "not found"}
        assert not [e for e in events if e["ev"] == "ack"]  # refused is not confirmed
        assert web(srv, "GET", "/v1/web/jobs/job-1")["fields"].get("note") is None


def test_server_unreachable_ends_the_sync_as_failed(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)
    # The server is gone: its port refuses connections.
    with httpx.Client() as c:
        try:
            c.get(cfg.server + "/v1/health", timeout=2)
            raise AssertionError("server still answering")
        except httpx.HTTPError:
            pass

    async def main():
        async with DeviceClient(cfg) as dev:
            await dev.set_link("wifi")
            await dev.app("opened")
            await dev.edit("r1", "text", fields={"a": 1})
            await dev.wait_for(lambda d: any(e["ev"] == "sync_end" for e in d.events), WAIT_S)
            return dev.events, dev.unsent

    events, unsent = run(main())
    end = [e for e in events if e["ev"] == "sync_end"][0]
    assert end["ok"] is False and end["error"] == "network"
    assert unsent == 1


def test_a_wrong_token_fails_syncs_and_says_so_once(tmp_path, capsys):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)
        cfg = type(cfg)(**{**{f: getattr(cfg, f) for f in cfg.__slots__}, "token": "wrong"})

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.manual()
                await dev.wait_for(lambda d: sum(
                    1 for e in d.events if e["ev"] == "sync_end") >= 1, WAIT_S)
                return dev.events

        events = run(main())
        ends = [e for e in events if e["ev"] == "sync_end"]
        assert ends[0] == {**ends[0], "ok": False, "error": "http 401"}
        assert capsys.readouterr().err.count("the server refused the sync") == 1


def test_events_committed_but_not_yet_in_the_trace_are_written_on_restart(tmp_path):
    """A kill between the store commit and the trace lines: the restart writes them."""
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)

        async def day():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("offline")
                await dev.app("opened")
                await dev.edit("r1", "text", fields={"a": 1})

        run(day())
        full = cfg.trace.read_text().splitlines()
        # The last input (closing the app) emitted `app closed`; cut it as a kill would.
        cfg.trace.write_text("\n".join(full[:-1]) + "\n")

        async def restart():
            async with DeviceClient(cfg) as dev:
                return dev.events

        run(restart())
        again = cfg.trace.read_text().splitlines()
        assert again[:len(full)] == full  # the lost line is back, in place
        assert list(TraceReader(cfg.trace))  # and the trace is valid
