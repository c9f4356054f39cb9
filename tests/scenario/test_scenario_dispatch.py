"""The random dispatcher's draws, shared by the simulator and real runs."""

from __future__ import annotations

import random
from collections import Counter

from bench.scenario.dispatch import DISPATCH_STATUSES, dispatcher_draws
from bench.scenario.model import DispatcherSpec, Dist


def _spec(**kw):
    base = dict(jobs_at_start=2, create_per_h=1.0, edit_per_h=1.0, status_per_h=1.0, attach_per_h=1.0,
                attach_bytes=Dist(kind="const", a=1000.0))
    base.update(kw)
    return DispatcherSpec(**base)


def _take(spec, devices, seed, n, jobs=None):
    jobs = jobs if jobs is not None else {}
    out = []
    for draw in dispatcher_draws(spec, devices, random.Random(seed), lambda d: jobs.get(d, [])):
        if draw[0] == "op" and draw[1] == "create":
            jobs.setdefault(draw[3], []).append(draw[2])
        out.append(draw)
        if len(out) >= n:
            break
    return out


def test_initial_jobs_then_waits_and_ops_in_turn():
    draws = _take(_spec(), ["w1", "w2"], 1, 10)
    assert [d[:4] for d in draws[:4]] == [("op", "create", "job-1", "w1"), ("op", "create", "job-2", "w1"),
                                          ("op", "create", "job-3", "w2"), ("op", "create", "job-4", "w2")]
    assert [d[0] for d in draws[4:]] == ["wait", "op"] * 3
    assert all(d[1] > 0 for d in draws[4:] if d[0] == "wait")


def test_same_seed_same_draws_and_the_mix_follows_the_rates():
    assert _take(_spec(), ["w1"], 7, 200) == _take(_spec(), ["w1"], 7, 200)
    ops = Counter(d[1] for d in _take(_spec(edit_per_h=3.0), ["w1", "w2"], 3, 4000)[4:] if d[0] == "op")
    assert ops["edit"] > 2 * ops["status"] and ops["status"] > 0 and ops["attach"] > 0
    statuses = {d[4]["status"] for d in _take(_spec(), ["w1"], 5, 400) if d[0] == "op" and d[1] == "status"}
    assert statuses <= set(DISPATCH_STATUSES) and statuses


def test_mean_wait_is_one_over_the_fleet_rate():
    draws = _take(_spec(jobs_at_start=0), ["w1", "w2", "w3"], 11, 8000)
    waits = [d[1] for d in draws if d[0] == "wait"]
    mean = sum(waits) / len(waits)
    expected = 3600.0 / (4.0 * 3)  # four ops per device-hour, three devices
    assert abs(mean - expected) / expected < 0.05


def test_no_rates_means_only_the_initial_jobs():
    draws = list(dispatcher_draws(_spec(create_per_h=0, edit_per_h=0, status_per_h=0, attach_per_h=0),
                                  ["w1"], random.Random(1), lambda d: []))
    assert [d[1] for d in draws] == ["create", "create"]
