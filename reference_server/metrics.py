"""Request counts and latency quantiles per route.

Theory of operation: the adapter times each handler with ``perf_counter`` and
records (route, seconds, error?). Each route keeps a count, an error count and
a ring of the last ``METRICS_WINDOW`` latencies; quantiles are computed on
read, so recording costs one deque append.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from reference_server.limits import METRICS_WINDOW


class _Route:
    __slots__ = ("count", "errors", "window")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.window: deque[float] = deque(maxlen=METRICS_WINDOW)


def _q(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


class Metrics:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._start = clock()
        self._routes: dict[str, _Route] = {}

    def record(self, route: str, seconds: float, error: bool) -> None:
        r = self._routes.get(route)
        if r is None:
            r = self._routes[route] = _Route()
        r.count += 1
        r.errors += error
        r.window.append(seconds)

    def snapshot(self) -> dict:
        routes = {}
        for name, r in sorted(self._routes.items()):
            ms = sorted(x * 1000.0 for x in r.window)
            routes[name] = {"count": r.count, "errors": r.errors,
                            "p50_ms": round(_q(ms, 0.5), 3), "p90_ms": round(_q(ms, 0.9), 3),
                            "p99_ms": round(_q(ms, 0.99), 3),
                            "max_ms": round(ms[-1] if ms else 0.0, 3)}
        return {"routes": routes, "uptime_s": round(self._clock() - self._start, 3)}
