"""The per-device generator: seeded by a key, the draws the simulator needs."""

import math
import statistics

import pytest

from bench.scenario.rng import DeviceRandom


def test_same_key_same_stream_other_key_other_stream():
    a, b, c = DeviceRandom("7/w1"), DeviceRandom("7/w1"), DeviceRandom("7/w2")
    xa = [a.random() for _ in range(5)]
    assert xa == [b.random() for _ in range(5)]
    assert xa != [c.random() for _ in range(5)]


def test_draws_have_the_right_moments():
    r = DeviceRandom("moments")
    n = 50_000
    u = [r.random() for _ in range(n)]
    assert 0.0 <= min(u) and max(u) < 1.0
    assert statistics.fmean(u) == pytest.approx(0.5, abs=0.01)
    assert statistics.fmean(r.uniform(2, 4) for _ in range(n)) == pytest.approx(3, abs=0.02)
    assert statistics.fmean(r.expovariate(0.5) for _ in range(n)) == pytest.approx(2, rel=0.03)
    g = [r.gauss(1.0, 2.0) for _ in range(n)]
    assert statistics.fmean(g) == pytest.approx(1.0, abs=0.05)
    assert statistics.pstdev(g) == pytest.approx(2.0, rel=0.03)
    assert all(math.isfinite(x) for x in g)


def test_it_is_small():
    assert not hasattr(DeviceRandom("x"), "__dict__")
