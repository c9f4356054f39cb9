"""Time scale K: spec time from the wall clock, and engine timers K times faster."""

from __future__ import annotations

import time

import pytest
from realclient_helpers import WAIT_S, config, run

from reference_client.client import ClientConfig, DeviceClient, SpecClock
from reference_client.policies import PLANADO
from reference_server.testing import running_server


class FakeWall:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_spec_clock_scales_and_never_goes_back():
    wall = FakeWall(1000.0)
    clock = SpecClock(epoch=990.0, time_scale=60, wall=wall)
    assert clock.now() == 600.0  # (1000 - 990) * 60
    assert clock.wall_delay(720.0) == pytest.approx(2.0)  # 120 spec s at K = 60
    assert clock.wall_delay(100.0) == 0.0
    assert clock.to_wall(120.0) == 2.0
    wall.t = 995.0  # the wall clock stepped back (NTP)
    assert clock.now() == 600.0


def test_network_timeouts_scale_down_to_a_floor():
    cfg = ClientConfig(server="http://127.0.0.1:1", token="t", device="w1", time_scale=60,
                       sync_timeout_s=600.0, min_wall_timeout_s=5.0)
    assert cfg.wall_timeout(600.0) == 10.0
    assert cfg.wall_timeout(60.0) == 5.0  # 1 s would fail on a loaded machine


def test_planado_timer_fires_after_its_spec_interval_in_wall_time_over_k(tmp_path):
    k = 120.0  # the 2-minute timer fires after about 1 s of wall time
    with running_server() as srv:
        cfg = config(srv, tmp_path, time_scale=k)
        stamps: list[tuple[dict, float]] = []

        async def main():
            dev = DeviceClient(cfg, on_event=lambda e: stamps.append((e, time.time())))
            async with dev:
                await dev.set_link("wifi")
                await dev.app("opened")
                await dev.wait_for(lambda d: sum(
                    1 for e in d.events if e["ev"] == "sync_start" and e["trigger"] == "timer"
                ) >= 2 and not d.busy, WAIT_S)
                return dev.clock.epoch

        epoch = run(main())
    events = [e for e, _ in stamps]
    ends = [e for e in events if e["ev"] == "sync_end"]
    timers = [e for e in events if e["ev"] == "sync_start" and e["trigger"] == "timer"]
    jitter = PLANADO.timer_jitter_s
    for timer in timers[:2]:
        armed = max(e["t"] for e in ends if e["t"] <= timer["t"])
        gap = timer["t"] - armed
        # Not early (a timer before its deadline would be < 117 s), and not at
        # wall speed (120 s of wall time would time the test out); 0.5 s of
        # wall-clock slack on a loaded machine is 60 spec seconds.
        assert PLANADO.timer_s - jitter <= gap <= PLANADO.timer_s + jitter + 0.5 * k, gap
    # The event was written when the wall clock had really reached its spec time.
    for e, wall in stamps:
        assert (wall - epoch) * k >= e["t"] - 0.05 * k, e


def test_time_scale_out_of_range_is_refused():
    with pytest.raises(ValueError, match="ClientConfig.time_scale"):
        ClientConfig(server="http://x", token="t", device="w1", time_scale=0)
    with pytest.raises(ValueError, match="ClientConfig.time_scale"):
        ClientConfig(server="http://x", token="t", device="w1", time_scale=10_000)
