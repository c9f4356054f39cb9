"""Bounded samples: exact quantiles while small, bounded memory when large, adaptive buckets."""

from __future__ import annotations

import random

from bench.report.samples import Distribution, count_buckets, level_buckets, level_series, quantile


def test_quantile_interpolates_linearly():
    assert quantile([], 0.5) is None
    assert quantile([10.0, 20.0, 30.0], 0.5) == 20.0
    assert quantile([10.0, 20.0, 30.0], 0.95) == 29.0
    assert quantile([7.0], 0.95) == 7.0


def test_distribution_exact_summary_while_within_capacity():
    d = Distribution(capacity=10)
    for x in (4, 1, 3, 2):
        d.add(x)
    s = d.summary()
    assert (s["count"], s["min"], s["max"], s["mean"], s["p50"], s["exact"]) == (4, 1, 4, 2.5, 2.5, True)
    assert d.cdf() == [[1, 0.25], [2, 0.5], [3, 0.75], [4, 1.0]]


def test_distribution_memory_is_bounded_and_estimates_stay_close():
    d = Distribution(capacity=500, rng=random.Random(1))
    for i in range(20_000):
        d.add(i % 1000)
    assert len(d.sorted()) == 500
    assert d.count == 20_000 and d.min == 0 and d.max == 999
    assert not d.summary()["exact"]
    assert abs(d.quantile(0.5) - 500) < 60
    assert len(d.cdf(points=50)) <= 50


def test_distribution_is_deterministic():
    a, b = Distribution(capacity=50), Distribution(capacity=50)
    for i in range(1000):
        a.add(i)
        b.add(i)
    assert a.sorted() == b.sorted()


def test_count_buckets_double_width_and_keep_totals():
    b = count_buckets(max_buckets=8, width=1.0)
    for t in range(100):
        b.add(t, "timer" if t % 2 else "push")
    assert len(b) <= 8
    assert b.width == 16.0
    items = b.items()
    assert sum(c["timer"] for _, c in items) == 50 and sum(c["push"] for _, c in items) == 50
    assert items[0][0] == 0.0


def test_level_series_carries_the_level_across_buckets():
    b = level_buckets(max_buckets=100, width=10.0)
    b.add(1, (1, 3))     # bucket 0: 3
    b.add(5, (5, 1))     # bucket 0: peak 3, ends at 1
    b.add(35, (35, 0))   # bucket 3: carried 1 in, ends at 0
    b.add(50, (50, 4))   # bucket 5: changes right at its start, 0 never showed
    b.add(52, (52, 2))
    assert level_series(b) == [[0.0, 3], [30.0, 1], [50.0, 4]]
