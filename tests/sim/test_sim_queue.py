"""The server's c-worker FCFS queue against M/M/c theory (Erlang C)."""

import random

import pytest

from bench.scenario import Dist
from bench.sim.queue import ServiceQueue, erlang_c_wait


def _simulate(lam: float, mu: float, c: int, n: int, seed: int) -> float:
    rng = random.Random(seed)
    q = ServiceQueue(workers=c, service=Dist(kind="exp", a=1 / mu), rng=rng)
    t = 0.0
    for _ in range(n):
        t += rng.expovariate(lam)
        q.admit(t)
    return q.mean_wait


def test_erlang_c_formula_known_values():
    # M/M/1: Wq = rho / (mu - lambda) = 0.8 / 0.2 = 4.
    assert erlang_c_wait(arrival_rate=0.8, service_rate=1.0, servers=1) == pytest.approx(4.0)
    # M/M/2 with a = 1: C = 1/3, Wq = C / (2 - 1) = 1/3.
    assert erlang_c_wait(arrival_rate=1.0, service_rate=1.0, servers=2) == pytest.approx(1 / 3)


@pytest.mark.parametrize(("lam", "mu", "c"), [(0.7, 1.0, 1), (3.0, 1.0, 4)])
def test_mean_wait_matches_mmc_theory_within_5_percent(lam, mu, c):
    want = erlang_c_wait(arrival_rate=lam, service_rate=mu, servers=c)
    got = _simulate(lam, mu, c, n=400_000, seed=2024)
    assert got == pytest.approx(want, rel=0.05)


def test_fcfs_start_times_by_hand():
    q = ServiceQueue(workers=2, service=Dist(kind="const", a=1.0), rng=random.Random(0))
    assert q.admit(0.0) == (0.0, 1.0)
    assert q.admit(0.1) == (0.1, 1.1)
    assert q.admit(0.2) == (1.0, 2.0)  # both busy: waits for the first to free
    assert q.mean_wait == pytest.approx(0.8 / 3)
    s = q.series()
    assert s["server_rps"][0][1] == pytest.approx(3 / 60)


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="workers"):
        ServiceQueue(workers=0, service=Dist(kind="const", a=1.0), rng=random.Random(0))
