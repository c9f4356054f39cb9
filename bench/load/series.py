"""Time series of a load run, from periodic snapshots of Locust's statistics.

Theory of operation: every :data:`SAMPLE_S` wall seconds the controller takes
a :class:`Snapshot` of the aggregated statistics -- cumulative request and
failure counts and the cumulative response-time histogram (Locust keeps
``{rounded ms: count}``) -- plus the user count and the generator's CPU.
Consecutive snapshots differ by what happened in between, so each interval's
requests/s, failures/s and p50/p95/p99 come from the difference of two
histograms: exact per interval (to Locust's rounding), not the 10-second
sliding window of Locust's "current" figures, so a storm's spike is not
smeared. In distributed mode workers report every few seconds, so intervals
without a report show zero and the next one carries the sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# One sample a second: the resolution of Locust's own history charts.
SAMPLE_S = 1.0
QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    t: float  # wall seconds since the run epoch
    requests: int
    failures: int
    hist: dict[int, int] = field(default_factory=dict)
    users: int = 0
    cpu: float = 0.0  # generator CPU percent (the busiest generator process)


def percentile(hist: dict[int, int], q: float) -> float | None:
    """The ``q`` quantile of a ``{value: count}`` histogram (None when empty)."""
    total = sum(hist.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return float(value)
    return float(max(hist))


def diff_hist(new: dict[int, int], old: dict[int, int]) -> dict[int, int]:
    out = {}
    for k, v in new.items():
        d = v - old.get(k, 0)
        if d > 0:
            out[k] = d
    return out


def build(snaps: list[Snapshot]) -> dict[str, list]:
    """Per-interval series: ``t`` (interval end), ``rps``, ``fail_s``, ``p50``/``p95``/``p99``
    (ms, None when no request ended), ``users``, ``cpu``."""
    out: dict[str, list] = {k: [] for k in ("t", "rps", "fail_s", "p50", "p95", "p99", "users",
                                            "cpu")}
    for a, b in zip(snaps, snaps[1:], strict=False):
        dt = b.t - a.t
        if dt <= 0:
            continue
        h = diff_hist(b.hist, a.hist)
        out["t"].append(round(b.t, 3))
        out["rps"].append((b.requests - a.requests) / dt)
        out["fail_s"].append((b.failures - a.failures) / dt)
        for q in QUANTILES:
            out[f"p{round(q * 100)}"].append(percentile(h, q))
        out["users"].append(b.users)
        out["cpu"].append(b.cpu)
    return out
