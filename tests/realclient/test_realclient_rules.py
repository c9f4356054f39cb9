"""A short Planado day on the real client, merged with the server's trace, passes
every rule of the bench's checker (the reference device is a reference)."""

from __future__ import annotations

import asyncio
import time

from realclient_helpers import WAIT_S, config, run, web

from bench.rules.checker import check_events
from bench.rules.policies import get_policy
from bench.trace import TraceReader, merge
from reference_client.client import DeviceClient
from reference_server.testing import running_server

# 10 spec seconds per wall second: planado.push_delivered allows 5 spec seconds
# from srv_push to push, half a wall second for the loopback hop on a loaded
# machine. Every other window the day touches is met within one engine input.
K = 10.0


def test_planado_day_through_the_real_client_passes_the_rules(tmp_path):
    epoch = time.time()
    server_trace = tmp_path / "server.jsonl"
    with running_server(trace=str(server_trace), trace_epoch=epoch, time_scale=K) as srv:
        cfg = config(srv, tmp_path, time_scale=K, trace_epoch=epoch)

        async def until(dev: DeviceClient, spec_s: float) -> None:
            await asyncio.sleep(dev.clock.wall_delay(dev.now + spec_s))

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.wait_for(lambda d: d.push.connected and not d.busy, WAIT_S)
                web(srv, "POST", "/v1/web/jobs", id="job-1", assignee="w1")
                await dev.wait_for(lambda d: "job-1" in d.records() and not d.busy, WAIT_S)
                await dev.edit("job-1", "text", fields={"note": "on site"})
                await dev.edit("job-1", "status", status="started")
                await dev.wait_for(lambda d: d.unsent == 0 and not d.busy, WAIT_S)
                await dev.set_link("edge")
                await dev.edit("job-1", "photo", nbytes=40_000)  # waits for a fast link
                await until(dev, 10)
                await dev.set_link("offline")
                await dev.edit("job-1", "text", fields={"note": "offline"})
                await until(dev, 10)
                await dev.set_link("lte")
                await dev.wait_for(lambda d: d.unsent == 0 and not d.busy, WAIT_S)
                await dev.snapshot()
            web(srv, "POST", "/v1/web/snapshot", devices=["w1"])

        run(main())
    reader = TraceReader(cfg.trace)
    device_events = list(reader)
    events = list(merge(TraceReader(server_trace), device_events))
    results = check_events(events, get_policy("planado"), meta={**reader.meta, "settled": True})
    failed = [(r.id, [v.as_dict() for v in r.violations]) for r in results
              if r.verdict == "fail"]
    assert failed == []
    judged = {r.id for r in results if r.verdict == "pass"}
    assert {"core.no_loss", "core.exactly_once", "core.converge", "planado.sync_on_status",
            "planado.push_sync", "planado.slow_no_files", "planado.unsent_count"} <= judged
