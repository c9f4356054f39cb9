"""Bounded containers for metric samples: distributions and time series.

Theory of operation
-------------------
A report must survive a 10-million-event trace, so no metric keeps every
sample. Two containers hold what the report needs in fixed memory:

* :class:`Distribution` keeps exact count, sum, min and max, plus a uniform
  reservoir of at most ``capacity`` samples (Vitter's Algorithm R). While the
  count is within the capacity the reservoir *is* the data and every quantile
  is exact; past it, quantiles and CDFs are estimates from a uniform sample.
  The reservoir's randomness is a ``random.Random`` with a fixed seed, so the
  same trace gives the same ``metrics.json`` byte for byte (STYLE.md: "the same
  seed gives the same trace, byte for byte" -- and the same report).
* :class:`Buckets` keeps a time series as at most ``max_buckets`` buckets of a
  width that doubles (merging neighbours pairwise) whenever a sample falls
  past the last bucket. The trace's length is unknown while it streams, so the
  width adapts instead of being fixed in advance.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

# 5,000 samples give a p95 within about +-0.6 percentile points (binomial
# standard error sqrt(.95*.05/5000)), finer than any plot shows, at ~40 kB each.
RESERVOIR_CAPACITY = 5_000
# Fixed so reports are reproducible: the reservoir is a sampling device, not
# part of the run, and must not vary between two reports of the same trace.
RESERVOIR_SEED = 0x5EED
# A CDF line is drawn through at most this many points; more add nothing a
# reader can see at plot resolution.
CDF_POINTS = 200
# Time-series resolution: 512 buckets is wider than a plot's pixel columns
# at the report's figure size (10 in x 100 dpi = 1,000 px, ~2 px per bucket).
MAX_BUCKETS = 512
# Initial bucket width in spec seconds; doubles as the trace grows.
INITIAL_BUCKET_S = 1.0


def quantile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated quantile of already-sorted values (numpy's default)."""
    n = len(sorted_values)
    if n == 0:
        return None
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


class Distribution:
    """Summary statistics and a bounded uniform sample of a stream of numbers."""

    __slots__ = ("capacity", "count", "total", "min", "max", "_sample", "_rng", "_sorted")

    def __init__(self, capacity: int = RESERVOIR_CAPACITY, rng: random.Random | None = None) -> None:
        self.capacity = capacity
        self.count = 0
        self.total = 0.0
        self.min: float | None = None
        self.max: float | None = None
        self._sample: list[float] = []
        self._rng = rng if rng is not None else random.Random(RESERVOIR_SEED)
        self._sorted: list[float] | None = None

    def add(self, x: float) -> None:
        self.count += 1
        self.total += x
        if self.min is None or x < self.min:
            self.min = x
        if self.max is None or x > self.max:
            self.max = x
        self._sorted = None
        if len(self._sample) < self.capacity:
            self._sample.append(x)
        else:
            j = self._rng.randrange(self.count)
            if j < self.capacity:
                self._sample[j] = x

    def sorted(self) -> list[float]:
        if self._sorted is None:
            self._sorted = sorted(self._sample)
        return self._sorted

    def quantile(self, q: float) -> float | None:
        return quantile(self.sorted(), q)

    @property
    def exact(self) -> bool:
        """True while every sample is held, so quantiles are exact."""
        return self.count <= self.capacity

    def summary(self) -> dict[str, Any]:
        s = self.sorted()
        return {
            "count": self.count,
            "mean": _r(self.total / self.count) if self.count else None,
            "min": _r(self.min),
            "p50": _r(quantile(s, 0.5)),
            "p95": _r(quantile(s, 0.95)),
            "max": _r(self.max),
            "exact": self.exact,
        }

    def cdf(self, points: int = CDF_POINTS) -> list[list[float]]:
        """``[[x, F(x)], ...]`` at most ``points`` long, F the empirical CDF."""
        s = self.sorted()
        n = len(s)
        if n == 0:
            return []
        if n <= points:
            idx = range(n)
        else:
            idx = sorted({round(i * (n - 1) / (points - 1)) for i in range(points)})
        return [[_r(s[i]), _r((i + 1) / n)] for i in idx]


def _r(x: float | None) -> float | None:
    """Round for JSON: microseconds are the trace's own resolution (writer.T_DIGITS)."""
    return None if x is None else round(x, 6)


class Buckets:
    """A time series as at most ``max_buckets`` buckets of adaptive width.

    ``merge(a, b)`` combines two bucket values when the width doubles and
    ``add(old, x)`` folds a new sample into a bucket (``old`` is None for a new
    bucket). ``t`` below 0 is counted in the first bucket.
    """

    __slots__ = ("width", "max_buckets", "_data", "_add", "_merge")

    def __init__(self, add: Callable[[Any, Any], Any], merge: Callable[[Any, Any], Any], *,
                 max_buckets: int = MAX_BUCKETS, width: float = INITIAL_BUCKET_S) -> None:
        self.width = width
        self.max_buckets = max_buckets
        self._data: dict[int, Any] = {}
        self._add = add
        self._merge = merge

    def add(self, t: float, x: Any) -> None:
        i = int(max(t, 0.0) // self.width)
        while i >= self.max_buckets:
            self._double()
            i = int(max(t, 0.0) // self.width)
        self._data[i] = self._add(self._data.get(i), x)

    def _double(self) -> None:
        self.width *= 2
        merged: dict[int, Any] = {}
        for i in sorted(self._data):
            j = i // 2
            merged[j] = self._data[i] if j not in merged else self._merge(merged[j], self._data[i])
        self._data = merged

    def items(self) -> list[tuple[float, Any]]:
        """``(bucket start t, value)`` for buckets that hold samples, in time order."""
        return [(_r(i * self.width), self._data[i]) for i in sorted(self._data)]

    def __len__(self) -> int:
        return len(self._data)


def count_buckets(**kw: Any) -> Buckets:
    """Counts per key (e.g. sync starts per trigger) per bucket."""

    def add(old: dict | None, key: str) -> dict:
        d = old if old is not None else {}
        d[key] = d.get(key, 0) + 1
        return d

    def merge(a: dict, b: dict) -> dict:
        out = dict(a)
        for k, v in b.items():
            out[k] = out.get(k, 0) + v
        return out

    return Buckets(add, merge, **kw)


def level_buckets(**kw: Any) -> Buckets:
    """A step function (e.g. the total Unsent count), fed ``add(t, (t, level))``.

    Per bucket: its peak, its last level, and the time of its first change.
    """

    def add(old: tuple | None, sample: tuple) -> tuple:
        t, x = sample
        return (x, x, t) if old is None else (max(old[0], x), x, old[2])

    def merge(a: tuple, b: tuple) -> tuple:
        return (max(a[0], b[0]), b[1], a[2])

    return Buckets(add, merge, **kw)


def level_series(b: Buckets, start: float = 0.0) -> list[list[float]]:
    """``[[t, peak], ...]`` of a :func:`level_buckets` series.

    A step function holds its value until the next change, so a bucket's peak
    includes the level carried in from before it -- unless the bucket's first
    change happens right at its start, when the old level never showed in it.
    """
    out: list[list[float]] = []
    carried = start
    for t, (peak, last, first_t) in b.items():
        out.append([t, max(peak, carried) if first_t > t else peak])
        carried = last
    return out
