"""The load package's plain parts, in process (no Locust): gates, series, profiles,
capacity search, configuration and CLI errors, and the device driver over real HTTP."""

from __future__ import annotations

import random

import httpx
import pytest

from bench.cli import main
from bench.load.capacity import Step, search
from bench.load.config import ConfigError, LoadConfig
from bench.load.device import LoadDevice
from bench.load.gates import Gates, check, reason
from bench.load.profiles import PROFILES
from bench.load.series import Snapshot, build, percentile
from reference_server.testing import running_server


def test_gates_hold_and_fail_with_one_line_naming_each_broken_gate() -> None:
    g = Gates(p99_ms=100, max_fail_ratio=0.01, min_rps=10)
    assert reason(check(g, p99_ms=100, fail_ratio=0.01, rps=10)) is None
    line = reason(check(g, p99_ms=150, fail_ratio=0.0, rps=5))
    assert line is not None and "\n" not in line
    assert "--p99-ms" in line and "--min-rps" in line and "--max-fail-ratio" not in line
    assert check(Gates(), p99_ms=1e9, fail_ratio=1, rps=0) == []
    with pytest.raises(ValueError, match="--p99-ms"):
        Gates(p99_ms=-1)
    # Sockets held: a share of the fleet; a run that held none fails the gate.
    s = Gates(min_sockets=0.9)
    assert reason(check(s, p99_ms=1, fail_ratio=0, rps=1, sockets=0.95)) is None
    assert "--min-sockets: sockets held 0.5 < 0.9" in reason(check(s, p99_ms=1, fail_ratio=0,
                                                                   rps=1, sockets=0.5))
    assert not check(s, p99_ms=1, fail_ratio=0, rps=1, sockets=None)[0].ok
    with pytest.raises(ValueError, match="--min-sockets is a share"):
        Gates(min_sockets=2)


def test_series_quantiles_come_from_each_interval_not_the_whole_run() -> None:
    assert percentile({}, 0.99) is None
    assert percentile({10: 98, 500: 2}, 0.5) == 10 and percentile({10: 98, 500: 2}, 0.99) == 500
    snaps = [Snapshot(t=0, requests=0, failures=0, hist={}),
             Snapshot(t=1, requests=100, failures=0, hist={10: 100}),
             Snapshot(t=2, requests=110, failures=5, hist={10: 100, 900: 10})]
    s = build(snaps)
    assert s["t"] == [1, 2] and s["rps"] == [100, 10] and s["fail_s"] == [0, 5]
    assert s["p99"] == [10, 900]  # the second second's spike is not diluted by the first


def test_profiles_place_their_moments_in_the_run() -> None:
    assert PROFILES["steady"].moments(100) == {}
    storm = PROFILES["storm"].moments(100)
    assert 0 < storm["offline"] < storm["reconnect"] < 100
    assert 0 < PROFILES["burst"].moments(100)["burst"] < 100


def _fake(limit: int):
    calls = []

    def trial(n: int) -> Step:
        calls.append(n)
        return Step(devices=n, held=n <= limit, p99_ms=1, fail_ratio=0, rps=n / 10)
    return trial, calls


def test_capacity_search_doubles_then_bisects_to_the_largest_fleet_that_held() -> None:
    trial, calls = _fake(330)
    best, steps, limited = search(trial, start=50, max_devices=10_000)
    assert calls[:5] == [50, 100, 200, 400, 400]  # a break is confirmed by a second run
    assert best is not None and 300 <= best.devices <= 330 and limited == "server"
    assert all(s.held for s in steps if s.devices <= 330)
    trial, _ = _fake(10**9)
    best, _, limited = search(trial, start=50, max_devices=300)
    assert best.devices == 300 and limited == "ceiling"
    trial, _ = _fake(0)
    best, _, _ = search(trial, start=8, max_devices=100)
    assert best is None
    # One noisy step does not end the search: it breaks once, then holds when re-run.
    seen: set[int] = set()

    def noisy(n: int) -> Step:
        held = n <= 330 and (n != 100 or n in seen)
        seen.add(n)
        return Step(devices=n, held=held, p99_ms=1, fail_ratio=0, rps=n / 10)

    best, steps, _ = search(noisy, start=50, max_devices=10_000)
    assert best is not None and best.devices >= 300
    assert [s.devices for s in steps][:3] == [50, 100, 100]


def test_config_and_cli_refuse_bad_values_with_one_line(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ConfigError, match="--devices"):
        LoadConfig(devices=0)
    with pytest.raises(ConfigError, match="--policy"):
        LoadConfig(policy="nope")
    cfg = LoadConfig(devices=3, tokens={"w1": "t"})
    assert LoadConfig.from_dict(cfg.to_dict()) == cfg
    for argv, word in ((["--devices", "0"], "--devices"), (["--time-scale", "-1"], "--time-scale"),
                       (["--find-capacity"], "--p99-ms"), (["--host", "ftp://x"], "--host"),
                       (["--p99-ms", "-3"], "--p99-ms"),
                       (["--remote-workers", "1"], "--remote-workers"),
                       (["--master-port", "70000"], "--master-port")):
        assert main(["load", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert word in err and "\n" not in err


class _Httpx:
    def __init__(self, url: str) -> None:
        self.c = httpx.Client(base_url=url, timeout=30)

    def request(self, method: str, path: str, *, name: str, headers: dict, data=None):
        return self.c.request(method, path, headers=headers, content=data)


def test_load_device_syncs_uploads_photos_and_reconnects_after_a_storm() -> None:
    with running_server() as srv:
        tokens = srv.provision_workers(2)
        for dev in tokens:
            r = httpx.post(srv.url + "/v1/web/jobs", headers=srv.auth(srv.dispatcher_token),
                           json={"id": f"job-{dev}-1", "assignee": dev})
            assert r.status_code == 201
        clock = [1000.0]  # a fake wall clock the test moves
        # Storm over 10 wall s at time scale 60: offline at 2.5 s, reconnect at 6 s.
        cfg = LoadConfig(devices=2, tokens=tokens, time_scale=60, duration_s=10,
                         profile="storm", epoch=1000.0, act_mean_s=30, photo_bytes=3000)
        devs = [LoadDevice(device=d, token=t, cfg=cfg, rng=random.Random(i), clock=lambda: clock[0],
                           transport=_Httpx(srv.url)) for i, (d, t) in enumerate(tokens.items())]
        syncs_before_reconnect = None
        while clock[0] < 1012.0:
            for d in devs:
                if d.wake_in() == 0:
                    d.step()
            nxt = min(d.wake_in() for d in devs)
            clock[0] += max(nxt, 0.01)
            if syncs_before_reconnect is None and clock[0] >= 1006.0:
                syncs_before_reconnect = sum(d.syncs_ok for d in devs)
        for d in devs:
            assert d.syncs_ok >= 3 and d.syncs_failed == 0
            assert d.engine.unsent == 0  # everything edited offline went up after the reconnect
            assert "job-" + d.device + "-1" in d.engine.records()
        assert sum(d.syncs_ok for d in devs) > syncs_before_reconnect
        assert sum(d.events.get("edit", 0) for d in devs) >= 4  # 2 outage edits each at least


def test_every_flag_in_docs_load_md_exists_and_every_flag_is_documented() -> None:
    import re
    from pathlib import Path

    from bench.cli import build_parser

    doc = (Path(__file__).resolve().parents[2] / "docs" / "load.md").read_text()
    sub = build_parser()._subparsers._group_actions[0].choices["load"]
    flags = {s for a in sub._actions for s in a.option_strings if s.startswith("--")} - {"--help"}
    table = set(re.findall(r"`(--[a-z0-9-]+)", doc))
    assert table - flags == set()
    assert flags - table - {"--quiet"} == set()


def test_saturated_generator_is_judged_over_a_window() -> None:
    from bench.load.cpu import cpu_summary

    assert cpu_summary([[10, 99, 10, 10, 10, 10]], 1.0, 1)["saturated"] is False  # one busy second
    hot = cpu_summary([[5, 5], [95, 96, 97, 99, 98, 90]], 2.0, 2)
    assert hot["saturated"] is True and hot["peak_pct"] >= 90 and hot["processes"] == 2


def test_run_load_warns_on_a_saturated_generator_and_writes_the_report(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_load's glue without Locust: a fake runner hands back figures of a saturated run."""
    import contextlib
    import io
    import json
    import sys
    import types

    from bench.load import main as load_main
    from bench.load import setup

    @contextlib.contextmanager
    def fake_target(cfg, **_):
        yield cfg.replace(host="http://127.0.0.1:1", tokens={"w1": "t"})

    snaps = [Snapshot(t=0, requests=0, failures=0),
             Snapshot(t=1, requests=50, failures=0, hist={20: 50}, users=5, cpu=97),
             Snapshot(t=2, requests=90, failures=1, hist={20: 89, 400: 1}, users=5, cpu=98)]
    summary = {"requests": 90, "failures": 1, "fail_ratio": 1 / 90, "elapsed_s": 2.0,
               "rps": 45.0, "p50_ms": 20, "p95_ms": 20, "p99_ms": 400, "max_ms": 400,
               "syncs": 80, "sync_failures": 1, "sync_p99_ms": 400,
               "syncs_by_trigger": {"link": 5}}
    fake = types.ModuleType("bench.load.runner")
    fake.run_locust = lambda cfg, out=None: types.SimpleNamespace(
        summary=summary, snapshots=snaps, marks=[{"name": "burst_start", "t": 1001.5}],
        cpu={"processes": 1, "cpu_s": 1.9, "peak_pct": 97.5, "saturated": True,
             "threshold_pct": 90.0}, epoch=1000.0, entries=[])
    monkeypatch.setattr(setup, "target", fake_target)
    monkeypatch.setitem(sys.modules, "bench.load.runner", fake)
    err = io.StringIO()
    res = load_main.run_load(LoadConfig(devices=5, profile="storm", duration_s=2),
                             gates=Gates(p99_ms=100), out=tmp_path, stderr=err)
    assert res.exit_code == 1 and "--p99-ms" in res.reason
    assert err.getvalue().count("\n") == 1 and "saturated" in err.getvalue()
    data = json.loads((tmp_path / "load.json").read_text())
    assert data["warnings"] and data["cpu"]["saturated"]
    assert data["marks"]["burst_start"] == 1.5 and "reconnect" in data["marks"]
    assert data["series"]["p99"] == [20, 400] and "tokens" not in data["config"]
    for name in ("rps", "latency", "users_cpu"):
        assert (tmp_path / "plots" / f"{name}.png").stat().st_size > 0
    assert "saturated" in (tmp_path / "index.html").read_text()


def test_the_load_person_is_the_one_person_model_with_the_app_kept_open() -> None:
    """A Locust device is a clock loop over bench.scenario.people.workday: same
    seed, same acts as the generator gives, and the load preset never
    minimizes, closes or creates."""
    from bench.load.behaviour import load_behaviour
    from bench.scenario.people import workday

    with running_server() as srv:
        tokens = srv.provision_workers(1)
        r = httpx.post(srv.url + "/v1/web/jobs", headers=srv.auth(srv.dispatcher_token),
                       json={"id": "job-w1-1", "assignee": "w1"})
        assert r.status_code == 201
        clock = [1000.0]
        cfg = LoadConfig(devices=1, tokens=tokens, time_scale=60, duration_s=30, epoch=1000.0,
                         act_mean_s=20, photo_bytes=2000, dispatch_per_device_h=0)
        dev = LoadDevice(device="w1", token=tokens["w1"], cfg=cfg, rng=random.Random(4),
                         clock=lambda: clock[0], transport=_Httpx(srv.url))
        while clock[0] < 1030.0:
            if dev.wake_in() == 0:
                dev.step()
            clock[0] += max(dev.wake_in(), 0.01)
    assert dev.events.get("edit", 0) >= 5 and dev.engine.unsent == 0
    assert dev.events.get("app") == 1  # opened once, never closed or minimized
    assert not {"minimize", "close", "create"} & {a for a, _ in
                                                 load_behaviour(20, 2000, 120).weights}
    # The acts come from the generator: the first wait is the one it yields.
    gen = workday("w1", load_behaviour(20, 2000, 120), random.Random(4), None, start=0.0)
    assert next(gen)[0] == "at"
