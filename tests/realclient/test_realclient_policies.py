"""PlayMaker and mutants on the real client; measured link class; clean shutdown."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import httpx
import pytest
from realclient_helpers import WAIT_S, config, run, web

from bench.link.proxy import ProxyServerThread
from reference_client.client import ClientConfig, DeviceClient, resolve_policy
from reference_client.mutants import MUTANTS
from reference_server.testing import running_server


def test_playmaker_save_goes_up_at_once_and_pulls_only_by_hand(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, policy="playmaker", time_scale=60)
        web(srv, "POST", "/v1/web/jobs", id="acct-1", type="account", assignee="w1")

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("lte")
                await dev.app("opened")
                await dev.edit("call-1", "text", fields={"notes": "met the buyer"})
                await dev.wait_for(lambda d: d.unsent == 0 and not d.busy, WAIT_S)
                assert "acct-1" not in dev.records()  # "does not update automatically"
                await dev.manual("menu")
                await dev.wait_for(lambda d: "acct-1" in d.records(), WAIT_S)
                return dev.events

        events = run(main())
        modes = [e["trigger"] for e in events if e["ev"] == "sync_start"]
        assert modes[-1] == "manual" and "save" in modes
        assert web(srv, "GET", "/v1/web/jobs/call-1")["fields"] == {"notes": "met the buyer"}


def test_mutant_policy_is_resolved_and_must_match_the_policy():
    cfg = ClientConfig(server="http://x", token="t", device="w1", mutant="overpoll_10s")
    assert resolve_policy(cfg) is MUTANTS["overpoll_10s"].policy
    with pytest.raises(ValueError, match="is a planado mutant, not playmaker"):
        resolve_policy(ClientConfig(server="http://x", token="t", device="w1",
                                    policy="playmaker", mutant="overpoll_10s"))


def test_mutant_runs_its_broken_behaviour(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60, mutant="ignores_push")

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.wait_for(lambda d: d.push.connected and not d.busy, WAIT_S)
                web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")
                await dev.wait_for(lambda d: any(e["ev"] == "push" for e in d.events), WAIT_S)
                return dev.events

        events = run(main())
        push = [e for e in events if e["ev"] == "push"][0]
        assert not [e for e in events if e["ev"] == "sync_start" and e["t"] >= push["t"]
                    and e["trigger"] == "push"]


def test_wifi_measured_below_550_kbps_is_reported_as_edge(tmp_path):
    with running_server() as srv, ProxyServerThread() as proxy:
        r = httpx.post(proxy.url + "/proxies", json={
            "name": "w1", "listen": "127.0.0.1:0", "upstream": srv.url.removeprefix("http://")})
        # 1000 KB/s of wall time at K = 60 is 133 kbps of spec time: GPRS-like.
        httpx.post(proxy.url + "/proxies/w1/toxics", json={
            "type": "bandwidth", "stream": "upstream", "attributes": {"rate": 1000}})
        cfg = config(srv, tmp_path, time_scale=60, measure_link=True)
        cfg = ClientConfig(**{**{f: getattr(cfg, f) for f in cfg.__slots__},
                              "server": "http://" + r.json()["listen"]})

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.edit("r1", "photo", nbytes=200_000)
                await dev.wait_for(lambda d: d.engine.link == "edge", WAIT_S)
                assert dev.meter.is_slow
                return dev.events

        events = run(main())
        links = [e["class"] for e in events if e["ev"] == "link"]
        assert links == ["wifi", "edge"]
        ends = [e for e in events if e["ev"] == "file_end"]
        assert ends[0]["ok"]  # the measured transfer itself completed


def test_close_leaves_no_task_running(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.edit("r1", "photo", nbytes=3_000_000)
                await dev.wait_for(lambda d: d.push.connected and d.busy, WAIT_S)
            return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

        assert asyncio.run(main()) == []


def test_stdin_malformed_line_stops_with_exit_2(tmp_path):
    with running_server() as srv:
        token = srv.provision("w1")
        cmd = [sys.executable, "-m", "reference_client.client", "--server", srv.url,
               f"--token={token}", "--device", "w1", "--store", str(tmp_path / "s"),
               "--trace", str(tmp_path / "w1.jsonl"), "--script", "-"]
        lines = json.dumps({"do": "link", "class": "wifi"}) + "\n" + '{"do": "jump"}\n'
        proc = subprocess.run(cmd, input=lines.encode(), capture_output=True, timeout=WAIT_S)
        assert proc.returncode == 2
        assert proc.stderr.decode().strip().endswith("script:2: 'do' must be one of link, app, "
                                                     "opened, minimized, restored, closed, edit, "
                                                     "manual, snapshot, settle, stop, got 'jump'")
        assert '"class":"wifi"' in (tmp_path / "w1.jsonl").read_text()  # line 1 was played
