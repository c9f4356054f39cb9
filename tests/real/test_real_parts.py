"""The real bench's pure parts: plan, drift, merge, compare, selftest day (no processes)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.link.mobility import get_model
from bench.real.compare import compare_modes
from bench.real.drift import MIN_SAMPLE_BYTES, min_sample_bytes, samples, summarize, target_wall_s
from bench.real.merge import write_merged
from bench.real.plan import RealRunError, check_scale, mobility_steps, plan_devices
from bench.real.selftest import device_id, exercise_day
from bench.scenario.fleet import device_specs
from bench.scenario.parse import parse_scenario
from bench.trace import read_meta, read_trace
from reference_client.mutants import MUTANTS


def _sc(**over):
    data = {"name": "t", "policy": "planado", "seed": 9, "duration": 3600,
            "fleet": {"size": 6, "mobility": {"rural": 0.5, "static": 0.5},
                      "behaviour": "field_worker", "push_off": 0.5},
            "devices": [{"id": "w1", "link": "3g",
                         "timeline": [{"t": 0, "app": "opened"}, {"t": 100, "link": "edge"}]}]}
    data.update(over)
    return parse_scenario(data, "<t>")


def test_real_fleet_is_drawn_as_the_simulator_draws_it() -> None:
    # One expansion (bench.scenario.fleet) for both modes: the devices the
    # real runner plans are the simulator's, in the same order.
    from bench.sim.fleet import Fleet

    sc = _sc()
    assert [d.id for d in plan_devices(sc)] == list(Fleet(sc).devices)
    assert device_specs(sc) == device_specs(sc) and len(device_specs(sc)) == sc.n_devices


def test_real_link_timelines_are_seeded_and_start_at_zero() -> None:
    sc = _sc()
    a, b = plan_devices(sc), plan_devices(sc)
    assert a == b
    assert a[0].links == ((0.0, "3g"), (100.0, "edge")) and a[0].steps[0].kind == "app"
    for d in a:
        assert d.links[0][0] == 0 and all(t < sc.duration_s for t, _ in d.links)
    rural = mobility_steps("rural", "edge", random.Random(1), 8 * 3600)
    assert rural and {p for _, p in rural} <= set(get_model("rural").profiles)
    assert mobility_steps("static", "lte", random.Random(1), 3600) == []


def test_real_check_scale_names_profile_and_largest_k() -> None:
    devices = plan_devices(_sc(fleet={"size": 0}))
    check_scale(devices, 60, "x.yaml")  # 3g (100) and edge (420)
    with pytest.raises(RealRunError, match=r"x.yaml: profile '3g'.*K=150.*at most --time-scale 100"):
        check_scale(devices, 150, "x.yaml")


def test_real_drift_takes_clean_samples_only() -> None:
    k = 60.0
    links = {"a": ((0.0, "3g"), (500.0, "edge"))}
    big = 300_000
    target = target_wall_s("3g", big, "up", k)
    ev = [
        {"ev": "file_start", "t": 10.0, "dev": "a", "file": "f1", "dir": "up", "bytes": big},
        {"ev": "file_end", "t": 10.0 + 1.5 * target * k, "dev": "a", "file": "f1", "dir": "up",
         "ok": True},  # 50 % slow
        {"ev": "file_start", "t": 100.0, "dev": "a", "file": "f2", "dir": "up", "bytes": 1000},
        {"ev": "file_end", "t": 101.0, "dev": "a", "file": "f2", "dir": "up", "ok": True},  # small
        {"ev": "file_start", "t": 200.0, "dev": "a", "file": "f3", "dir": "down", "bytes": big},
        {"ev": "file_start", "t": 201.0, "dev": "a", "file": "f4", "dir": "down", "bytes": big},
        {"ev": "file_end", "t": 230.0, "dev": "a", "file": "f3", "dir": "down", "ok": True},
        {"ev": "file_end", "t": 240.0, "dev": "a", "file": "f4", "dir": "down", "ok": True},  # overlap
        {"ev": "file_start", "t": 490.0, "dev": "a", "file": "f5", "dir": "up", "bytes": big},
        {"ev": "file_end", "t": 520.0, "dev": "a", "file": "f5", "dir": "up", "ok": True},  # link change
    ]
    found = samples(ev, links, k, end_s=1000)
    assert [s["profile"] for s in found] == ["3g"] and found[0]["bytes"] >= MIN_SAMPLE_BYTES
    d = summarize(found)
    assert d["worst"] == pytest.approx(0.5, abs=1e-3) and d["kept_up"] is False
    assert summarize([])["n"] == 0


def test_real_drift_times_a_resumed_transfer_on_what_it_had_left() -> None:
    k = 20.0
    links = {"a": ((0.0, "3g"),)}
    total, cut = 1_000_000, 700_000
    rest = target_wall_s("3g", total - cut, "down", k)
    ev = [
        {"ev": "file_start", "t": 10.0, "dev": "a", "file": "f", "dir": "down", "bytes": total},
        {"ev": "file_end", "t": 30.0, "dev": "a", "file": "f", "dir": "down", "ok": False,
         "bytes": cut},
        {"ev": "file_start", "t": 40.0, "dev": "a", "file": "f", "dir": "down", "bytes": total},
        {"ev": "file_end", "t": 40.0 + rest * k, "dev": "a", "file": "f", "dir": "down",
         "ok": True},
    ]
    (found,) = samples(ev, links, k, end_s=1000)
    # Timed on the 300 kB it had left, it kept up; timed on the whole file it would
    # read as some 70 % faster than the link allows.
    assert found["bytes"] == total - cut and found["drift"] == pytest.approx(0.0, abs=1e-6)


def test_real_drift_counts_a_handshake_round_trip_per_new_connection() -> None:
    """A download that opened a connection (file_end ``connects``) is held to one more
    3G round trip (200 ms spec) than one on a kept connection."""
    k = 40.0
    links = {"a": ((0.0, "3g"),)}
    big = 150_000
    kept = target_wall_s("3g", big, "down", k)
    fresh = target_wall_s("3g", big, "down", k, connects=1)
    assert fresh - kept == pytest.approx(0.2 / k)
    took = fresh * k  # spec seconds: exactly the fresh target
    ev = [
        {"ev": "file_start", "t": 10.0, "dev": "a", "file": "f", "dir": "down", "bytes": big},
        {"ev": "file_end", "t": 10.0 + took, "dev": "a", "file": "f", "dir": "down", "ok": True,
         "connects": 1},
        {"ev": "file_start", "t": 50.0, "dev": "a", "file": "g", "dir": "down", "bytes": big},
        {"ev": "file_end", "t": 50.0 + took, "dev": "a", "file": "g", "dir": "down", "ok": True},
    ]
    on_new, on_kept = samples(ev, links, k, end_s=1000)
    assert on_new["connects"] == 1 and on_new["drift"] == pytest.approx(0.0, abs=1e-6)
    assert on_kept["connects"] == 0 and on_kept["drift"] == pytest.approx(fresh / kept - 1)


def test_real_merge_shifts_the_server_and_writes_one_meta(tmp_path: Path) -> None:
    dev = tmp_path / "w1.jsonl"
    dev.write_text('{"ev":"meta","schema":"syncbench.trace/1","policy":"planado"}\n'
                   '{"ev":"app","t":0.5,"dev":"w1","state":"opened"}\n'
                   '{"ev":"manual","t":3.0,"dev":"w1"}\n')
    srv = tmp_path / "server.jsonl"
    srv.write_text('{"ev":"dispatch","t":12.0,"op":"create","record":"j","assignee":"w1"}\n')
    out = tmp_path / "trace.jsonl"
    write_merged(out, _sc(fleet={"size": 0}), 60.0, [str(dev)], srv, -10.0, [])
    meta = read_meta(out)
    assert meta["mode"] == "real" and meta["settled"] is True and meta["time_scale"] == 60
    assert out.read_text().count('"meta"') == 1
    evs = read_trace(out)
    assert [e["ev"] for e in evs] == ["app", "dispatch", "manual"]
    assert evs[1]["t"] == 2.0


def _item(name, metrics, k=None):
    return SimpleNamespace(name=name, report_dir=None,
                           extra={"metrics": metrics, **({"time_scale": k} if k else {})})


def test_real_compare_modes_prints_ratios() -> None:
    def m(per_h, p50, up):
        return {"sync": {"per_device_hour": per_h}, "upload_delay_s": {"p50": p50},
                "bytes": {"by_class": {"3g": {"up": up, "down": 0}}}}

    text = compare_modes(_item("x.yaml", m(30.0, 10.0, 1000)), _item("x.yaml", m(33.0, 5.0, 2000), 60))
    assert "K=60" in text
    assert "syncs per device-hour" in text and "1.10" in text and "0.50" in text and "2.00" in text
    assert "no trace metrics for the sim run" in compare_modes(_item("x", None), _item("x", m(1, 1, 1)))


def test_real_selftest_days_parse_with_every_mutant() -> None:
    for policy in ("planado", "playmaker"):
        names = [n for n, mu in MUTANTS.items() if mu.base == policy]
        sc = exercise_day(policy, names)
        ids = [d.id for d in sc.devices]
        assert ids[0] == device_id("true") and len(ids) == len(names) + 1
        assert {d.client for d in sc.devices[1:]} == set(names)
        check_scale(plan_devices(sc), 60, "selftest")


def test_watch_names_an_unasked_exit_and_ignores_a_requested_stop(tmp_path) -> None:
    import subprocess
    import sys
    import time

    from bench.real.watch import Watch

    watch = Watch()
    asked = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watch.add("asked", asked)
    watch.stopping(asked)
    asked.terminate()
    asked.wait()
    died = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    watch.add("helper", died, tmp_path / "helper.log")
    deadline = time.monotonic() + 30
    while watch.death() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    death = watch.death()
    assert death is not None and death.name == "helper" and death.returncode == 3
    assert death.line(t0=None, k=60) == (f"helper (pid {died.pid}) died before the run started "
                                         f"(exit 3); its log: {tmp_path / 'helper.log'}")
    assert "at t=120.0 s of the run" in death.line(t0=death.wall - 2.0, k=60)


def test_first_divergence_names_the_device_the_input_and_what_came_before(tmp_path) -> None:
    from bench.real.compare import first_divergence

    def trace(name, events):
        p = tmp_path / name
        p.write_text("".join(json.dumps({"dev": "w1", **e}) + "\n" for e in events))
        return p

    common = [{"ev": "link", "t": 0, "class": "3g"}, {"ev": "app", "t": 0, "state": "opened"},
              {"ev": "sync_start", "t": 0, "sync": "s1", "trigger": "open"},
              {"ev": "link", "t": 5, "class": "3g"}]  # a repeated class is no input
    a = trace("sim.jsonl", common + [{"ev": "edit", "t": 9, "record": "j1", "kind": "text"}])
    b = trace("real.jsonl", common + [{"ev": "edit", "t": 9.4, "record": "j2", "kind": "text"},
                                      {"ev": "manual", "t": 700}])
    line = first_divergence(a, b, until=600)
    assert line == ("first divergence: w1, input 3: sim edit j1 text at t=9.0 | real edit j2 text "
                    "at t=9.4 (both had before it: link 3g at t=0.0; app opened at t=0.0)")
    assert first_divergence(a, a, until=600) == "inputs agree event by event: 3 inputs on 1 devices"
    short = trace("short.jsonl", common)
    assert "sim edit j1 text at t=9.0 | real nothing more" in first_divergence(a, short, until=600)


def test_real_drift_leaves_out_a_resumed_upload_and_a_short_fast_transfer() -> None:
    k = 10.0
    links = {"a": ((0.0, "3g"), (100.0, "wifi"))}
    ev = [
        # A cut upload: the server kept bytes the client never saw acknowledged.
        {"ev": "file_start", "t": 10.0, "dev": "a", "file": "f", "dir": "up", "bytes": 300_000},
        {"ev": "file_end", "t": 12.0, "dev": "a", "file": "f", "dir": "up", "ok": False,
         "bytes": 0},
        {"ev": "file_start", "t": 20.0, "dev": "a", "file": "f", "dir": "up", "bytes": 300_000},
        {"ev": "file_end", "t": 25.0, "dev": "a", "file": "f", "dir": "up", "ok": True},
        # 300 kB on Wi-Fi is 0.16 s of its 15 Mbps uplink: round trips, not bandwidth.
        {"ev": "file_start", "t": 110.0, "dev": "a", "file": "g", "dir": "up", "bytes": 300_000},
        {"ev": "file_end", "t": 111.0, "dev": "a", "file": "g", "dir": "up", "ok": True},
        # 2 MB on Wi-Fi is over a second of it: a sample.
        {"ev": "file_start", "t": 120.0, "dev": "a", "file": "h", "dir": "up", "bytes": 2_000_000},
        {"ev": "file_end", "t": 122.0, "dev": "a", "file": "h", "dir": "up", "ok": True},
    ]
    found = samples(ev, links, k, end_s=1000)
    assert [(s["dev"], s["bytes"], s["profile"]) for s in found] == [("a", 2_000_000, "wifi")]
    assert min_sample_bytes("wifi", "up") == 15_000 * 125 and min_sample_bytes("3g", "up") == MIN_SAMPLE_BYTES


def test_real_group_warms_each_file_path_once_and_shrugs_off_its_answer() -> None:
    import asyncio

    from bench.real.devices import WARM_UP_FILE, GroupPlan, _Group
    from reference_client.client.api import ApiError, NetworkError

    asked: list[tuple[str, str]] = []

    class Api:
        async def upload_status(self, file):
            asked.append(("status", file))
            raise NetworkError("refused")

        async def download(self, file, offset):
            asked.append(("download", file))
            raise ApiError(404, {"error": "no such file"})
            yield b""  # an async generator, as the client's

    plan = GroupPlan(devices=(), urls={}, tokens={}, proxies={}, proxy_api=None, store_root="/tmp",
                     time_scale=10, duration_s=60, settle_s=0, settle_link="3g")
    assert plan.warm_files and plan.base_rtt_ms == {}
    asyncio.run(_Group(plan)._warm(SimpleNamespace(api=Api())))
    assert asked == [("status", WARM_UP_FILE), ("download", WARM_UP_FILE)]
