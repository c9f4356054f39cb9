"""The push listener: backoff, reconnect after the link drops, store ownership."""

from __future__ import annotations

import random

import httpx
import pytest
from realclient_helpers import WAIT_S, config, run, web

from bench.link.proxy import ProxyServerThread
from reference_client.client import ClientConfig, DeviceClient
from reference_client.client.config import PUSH_BACKOFF_BASE_S, PUSH_BACKOFF_MAX_S
from reference_client.client.push import BACKOFF_JITTER, backoff_s
from reference_server.testing import running_server


def test_backoff_doubles_to_its_cap_with_bounded_jitter():
    rng = random.Random(1)
    for failures, base in [(1, 1.0), (2, 2.0), (3, 4.0), (7, 60.0), (30, 60.0)]:
        delay = backoff_s(failures, rng)
        expected = min(PUSH_BACKOFF_BASE_S * base, PUSH_BACKOFF_MAX_S)
        assert expected <= delay <= expected * (1 + BACKOFF_JITTER)
    assert backoff_s(3, random.Random(9)) == backoff_s(3, random.Random(9))  # seeded


def test_push_reconnects_after_the_link_drops_and_pushes_flow_again(tmp_path):
    with running_server() as srv, ProxyServerThread() as proxy:
        r = httpx.post(proxy.url + "/proxies", json={
            "name": "w1", "listen": "127.0.0.1:0", "upstream": srv.url.removeprefix("http://")})
        cfg = config(srv, tmp_path, time_scale=60)
        cfg = ClientConfig(**{**{f: getattr(cfg, f) for f in cfg.__slots__},
                              "server": "http://" + r.json()["listen"]})

        def enabled(on: bool) -> None:
            r = httpx.post(proxy.url + "/proxies/w1", json={"enabled": on})
            assert r.status_code == 200, r.text

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.wait_for(lambda d: d.push.connected and not d.busy, WAIT_S)
                enabled(False)  # every open connection is cut
                await dev.wait_for(lambda d: not d.push.connected, WAIT_S)
                enabled(True)
                await dev.wait_for(lambda d: d.push.connected, WAIT_S)
                assert dev.push.connects >= 2
                web(srv, "POST", "/v1/web/jobs", id="job-2", assignee="w1")
                await dev.wait_for(lambda d: any(
                    e["ev"] == "push" and e["record"] == "job-2" for e in d.events), WAIT_S)

        run(main())


def test_a_store_belongs_to_one_device(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60)

        async def first():
            async with DeviceClient(cfg):
                pass

        run(first())
        other = ClientConfig(server=cfg.server, token="t", device="w2", store=cfg.store)

        async def second():
            async with DeviceClient(other):
                pass

        with pytest.raises(ValueError, match="holds device 'w1', not 'w2'"):
            run(second())


def test_notifications_off_never_opens_the_push_socket(tmp_path):
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=60, push=False)

        async def main():
            async with DeviceClient(cfg) as dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.wait_for(lambda d: any(e["ev"] == "sync_end" for e in d.events),
                                   WAIT_S)
                return dev.push.connects, dev.push.running

        assert run(main()) == (0, False)


def test_set_epoch_moves_t_zero_for_a_device_opened_early(tmp_path):
    import time

    with running_server() as srv:
        placeholder = time.time() + 86_400  # the run's epoch is not known yet
        cfg = config(srv, tmp_path, time_scale=60, trace_epoch=placeholder)

        async def main():
            async with DeviceClient(cfg) as dev:
                epoch = time.time()
                dev.set_epoch(epoch)
                await dev.set_link("offline")
                return epoch, dev.events[0]["t"], dev.store.get_meta("epoch")

        epoch, t, kept = run(main())
        assert 0 <= t < 60 * WAIT_S and kept == epoch
