"""Sharded runs: the split, the merge, and failures named (bench.sim.partition, bench.sim.shards)."""

from __future__ import annotations

import os

import pytest

from bench.rules.base import FAIL, NA, PASS, RuleResult, Violation
from bench.rules.checker import check_trace_file
from bench.scenario import load_scenario
from bench.sim import simulate
from bench.sim.partition import MAX_SHARDS, ShardError, partition
from bench.sim.shards import ShardedRun, merge_results, merge_series, run_shard

DAY = "scenarios/planado-day.yaml"


def _day(devices: int = 24, hours: float = 1.0, **server):
    sc = load_scenario(DAY).with_overrides(devices=devices, hours=hours, seed=5)
    if server:
        from dataclasses import replace

        sc = sc.but(server=replace(sc.server, **server))
    return sc


# ---- the split ---------------------------------------------------------------


def test_workers_are_dealt_evenly_and_devices_follow_them():
    shards = partition(_day(devices=100, workers=10), 3)
    assert [s.workers for s in shards] == [4, 3, 3]
    assert [len(s.devices) for s in shards] == [40, 30, 30]
    every = [d for s in shards for d in s.devices]
    assert len(every) == len(set(every)) == 100
    assert [s.tag for s in shards] == ["", ".s2", ".s3"]


def test_one_shard_is_the_unsharded_fleet():
    (s,) = partition(_day(), 1)
    assert s.tag == "" and s.stream(5, "queue") == "5/queue" and len(s.devices) == 24


def test_scripted_devices_stay_in_the_first_shard():
    sc = load_scenario("scenarios/planado-push-off.yaml")
    pinned = {d.id for d in sc.devices} | {s.assignee for s in sc.dispatch if s.assignee}
    sc = sc.with_overrides(devices=len(sc.devices) + 8).but(
        server=__import__("dataclasses").replace(sc.server, workers=2))
    first = partition(sc, 2)[0]
    assert pinned and pinned <= first.devices


@pytest.mark.parametrize(("n", "workers", "devices", "says"), [
    (5, 4, 24, "server.workers is 4"),
    (3, 8, 2, "2 devices"),
    (0, 4, 24, "outside 1.."),
    (MAX_SHARDS + 1, 4, 24, "outside 1.."),
])
def test_a_split_that_cannot_be_made_is_refused_naming_the_flag(n, workers, devices, says):
    with pytest.raises(ShardError, match="--shards") as exc:
        partition(_day(devices=devices, workers=workers), n)
    assert says in str(exc.value)


# ---- the merge ---------------------------------------------------------------


def _r(verdict, judged, *violations, why=None):
    vs = tuple(Violation(t=t, dev=d, message="m") for t, d in violations)
    return RuleResult(id="x.y", verdict=verdict, judged=judged, violations=vs, failures=len(vs),
                      why=why)


def test_merged_verdicts_add_instances_and_a_failure_anywhere_fails():
    (m,) = merge_results([[_r(PASS, 3)], [_r(FAIL, 2, (9.0, "b"), (1.0, "c"))], [_r(NA, 0, why="w")]])
    assert (m.verdict, m.judged, m.count) == (FAIL, 5, 2)
    assert [v.t for v in m.violations] == [1.0, 9.0]
    (m,) = merge_results([[_r(NA, 0, why="none here")], [_r(PASS, 1)]])
    assert (m.verdict, m.why) == (PASS, None)
    (m,) = merge_results([[_r(NA, 0, why="none here")], [_r(NA, 0, why="none there")]])
    assert (m.verdict, m.why) == (NA, "none here")


def test_merged_series_adds_rates_and_weights_waits_by_requests():
    a = {"server_rps": [(0.0, 1.0), (60.0, 2.0)], "queue_wait_s": [(0.0, 0.1), (60.0, 0.0)]}
    b = {"server_rps": [(0.0, 3.0)], "queue_wait_s": [(0.0, 0.5)]}
    m = merge_series([a, b], 60.0)
    assert m["server_rps"] == [(0.0, 4.0), (60.0, 2.0)]
    assert m["queue_wait_s"][0] == (0.0, pytest.approx((0.1 * 60 + 0.5 * 180) / 240))


# ---- whole runs ----------------------------------------------------------------


def test_sharded_run_merges_to_the_verdicts_of_its_merged_trace_and_reruns_byte_identical(tmp_path):
    sc = _day(devices=30)
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    ra = simulate(sc, trace=a, shards=ShardedRun(shards=3, parallel=2))
    simulate(sc, trace=b, shards=ShardedRun(shards=3, parallel=2))
    assert a.read_bytes() == b.read_bytes()
    assert not list(tmp_path.glob("*.part*"))  # parts removed once merged
    _, checked, meta = check_trace_file(a)
    assert meta["shards"] == 3
    assert [(r.id, r.verdict, r.judged, r.violations) for r in checked] == \
        [(r.id, r.verdict, r.judged, r.violations) for r in ra.results]
    assert sum(r.judged for r in ra.results) > 1000  # it judged a real day
    m = ra.metrics
    assert m["shards"] == 3 and sum(m["shard_devices"]) == m["devices"] == 30
    assert all(mb > 0 for mb in m["shard_peak_mb"])
    jobs = {e.split('"')[0] for e in a.read_text().split('"record":"')[1:] if e.startswith("job-")}
    tags = {j.partition(".")[2] for j in jobs}
    assert tags == {"", "s2", "s3"}  # no two shards name one job


def test_one_shard_gives_the_unsharded_trace_byte_for_byte(tmp_path):
    sc = _day(devices=8)
    plain, one = tmp_path / "plain.jsonl", tmp_path / "one.jsonl"
    simulate(sc, trace=plain)
    simulate(sc, trace=one, shards=ShardedRun(shards=1))
    assert plain.read_bytes() == one.read_bytes()


def test_sharded_run_without_a_trace_still_judges():
    r = simulate(_day(devices=12), shards=ShardedRun(shards=2))
    assert r.ok and r.metrics["events"] > 1000


# Module-level so that a spawned worker process can import them.
def die_in_second_shard(job, progress=None):
    if job.shard.index == 1:
        os._exit(3)
    return run_shard(job, progress)


def raise_in_first_shard(job, progress=None):
    if job.shard.index == 0:
        raise RuntimeError("the disk is full")
    return run_shard(job, progress)


def mark_at_exit(job, progress=None):
    import atexit

    path = f"{os.environ['SB_TEST_EXIT_MARK']}{job.shard.index}"
    atexit.register(lambda: open(path, "w").close())
    return run_shard(job, progress)


def test_a_worker_ends_once_it_has_reported_without_tearing_its_fleet_down(tmp_path, monkeypatch):
    """The parent waits for each worker's exit; a worker that tore its fleet down
    at exit (object by object, 0.65 s for a 5,000-device hour) made it wait for
    nothing. Its interpreter's exit (atexit and all) is skipped; its outcome came."""
    monkeypatch.setenv("SB_TEST_EXIT_MARK", str(tmp_path / "exited-"))
    r = simulate(_day(devices=8), shards=ShardedRun(shards=2, target=mark_at_exit))
    assert r.ok and r.metrics["events"] > 100
    assert not list(tmp_path.iterdir())


def test_a_shard_whose_process_dies_is_named_not_waited_for():
    with pytest.raises(ShardError, match=r"shard 2 of 2 died: .*exit status 3"):
        simulate(_day(devices=8), shards=ShardedRun(shards=2, target=die_in_second_shard))


def test_a_shard_that_raises_is_named_with_its_error():
    with pytest.raises(ShardError, match=r"shard 1 of 2 failed: RuntimeError: the disk is full"):
        simulate(_day(devices=8), shards=ShardedRun(shards=2, target=raise_in_first_shard))


@pytest.mark.network
def test_dask_local_cluster_runs_the_same_shards_byte_for_byte(tmp_path):
    distributed = pytest.importorskip("distributed")
    sc = _day(devices=16)
    local, remote = tmp_path / "local.jsonl", tmp_path / "dask.jsonl"
    rl = simulate(sc, trace=local, shards=ShardedRun(shards=2))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, host="127.0.0.1") as cluster:
        rd = simulate(sc, trace=remote, shards=ShardedRun(shards=2, dask=cluster.scheduler_address))
    assert local.read_bytes() == remote.read_bytes()
    assert [r.verdict for r in rl.results] == [r.verdict for r in rd.results]


@pytest.mark.network
def test_an_unreachable_dask_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    import socket

    with socket.socket() as s:  # bound, never listening: refused, and no one else's port
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(ShardError, match=f"--dask tcp://127.0.0.1:{port}: cannot reach"):
            simulate(_day(devices=8), shards=ShardedRun(shards=2, dask=f"tcp://127.0.0.1:{port}",
                                                        connect_s=1))


def grow_past_the_cap(job, progress=None):
    hog = bytearray(400 * 2**20)  # more than the cap below, whatever the process maps already
    return run_shard(job, progress) if hog else None


def test_a_shard_over_its_memory_cap_fails_naming_the_cap():
    with pytest.raises(ShardError, match=r"shard \d of 2 failed: MemoryError: .*--shard-memory-mb 300"):
        simulate(_day(devices=8), shards=ShardedRun(shards=2, memory_mb=300,
                                                    target=grow_past_the_cap))


def test_a_generous_memory_cap_changes_nothing(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    simulate(_day(devices=8), trace=a, shards=ShardedRun(shards=2))
    simulate(_day(devices=8), trace=b, shards=ShardedRun(shards=2, memory_mb=4096))
    assert a.read_bytes() == b.read_bytes()
