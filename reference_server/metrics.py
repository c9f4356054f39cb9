"""Request counts and latency quantiles per route, as JSON and as Prometheus text.

Theory of operation: the adapter times each handler with ``perf_counter`` and
records (route, seconds, error?). Each route keeps a count, an error count, a
ring of the last ``METRICS_WINDOW`` latencies (for the JSON quantiles, computed
on read) and cumulative histogram buckets since start-up (for Prometheus,
which computes quantiles itself from bucket rates); recording costs one deque
append and one bisect.

Prometheus text (exposition format 0.0.4, what ``/metrics`` serves) is written
by hand: a handful of metric families does not need a client library.

    syncbench_requests_total{route}                      counter
    syncbench_request_errors_total{route}                counter (status >= 400)
    syncbench_request_duration_seconds{route,le}         histogram
    syncbench_uptime_seconds, syncbench_push_connections gauges
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Callable

from reference_server.limits import METRICS_WINDOW

# Upper bounds in seconds: Prometheus client libraries' default buckets with
# 1 ms and 2.5 ms added below, since a sync with nothing to do takes ~1 ms.
BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The Content-Type Prometheus expects for the text format.
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "syncbench_"


class _Route:
    __slots__ = ("count", "errors", "window", "buckets", "sum_s")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.window: deque[float] = deque(maxlen=METRICS_WINDOW)
        # buckets[i]: observations in (BUCKETS_S[i-1], BUCKETS_S[i]]; the last
        # slot is above the largest bound. Made cumulative when written out.
        self.buckets = [0] * (len(BUCKETS_S) + 1)
        self.sum_s = 0.0


def _label(value: str) -> str:
    """A label value escaped as the text format requires (backslash, quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _num(x: float) -> str:
    return repr(float(x)) if isinstance(x, float) else str(x)


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
        r.buckets[bisect.bisect_left(BUCKETS_S, seconds)] += 1
        r.sum_s += seconds

    def snapshot(self) -> dict:
        routes = {}
        for name, r in sorted(self._routes.items()):
            ms = sorted(x * 1000.0 for x in r.window)
            routes[name] = {"count": r.count, "errors": r.errors,
                            "p50_ms": round(_q(ms, 0.5), 3), "p90_ms": round(_q(ms, 0.9), 3),
                            "p99_ms": round(_q(ms, 0.99), 3),
                            "max_ms": round(ms[-1] if ms else 0.0, 3)}
        return {"routes": routes, "uptime_s": round(self._clock() - self._start, 3)}

    def prometheus(self, gauges: dict[str, tuple[str, float]] | None = None) -> str:
        """The Prometheus text exposition; ``gauges`` adds ``name: (help, value)``."""
        routes = sorted(self._routes.items())
        out: list[str] = []

        def family(name: str, kind: str, help_: str) -> None:
            out.append(f"# HELP {PREFIX}{name} {help_}")
            out.append(f"# TYPE {PREFIX}{name} {kind}")

        family("requests_total", "counter", "HTTP requests handled, by route.")
        for name, r in routes:
            out.append(f'{PREFIX}requests_total{{route="{_label(name)}"}} {r.count}')
        family("request_errors_total", "counter",
               "HTTP requests answered with a 4xx or 5xx status, by route.")
        for name, r in routes:
            out.append(f'{PREFIX}request_errors_total{{route="{_label(name)}"}} {r.errors}')
        h = f"{PREFIX}request_duration_seconds"
        family("request_duration_seconds", "histogram",
               "Time from request to response in the handler, by route.")
        for name, r in routes:
            lab = f'route="{_label(name)}"'
            cum = 0
            for bound, n in zip(BUCKETS_S, r.buckets, strict=False):
                cum += n
                out.append(f'{h}_bucket{{{lab},le="{bound!r}"}} {cum}')
            out.append(f'{h}_bucket{{{lab},le="+Inf"}} {r.count}')
            out.append(f"{h}_sum{{{lab}}} {r.sum_s!r}")
            out.append(f"{h}_count{{{lab}}} {r.count}")
        family("uptime_seconds", "gauge", "Seconds since the server started.")
        out.append(f"{PREFIX}uptime_seconds {_num(round(self._clock() - self._start, 3))}")
        for name, (help_, value) in sorted((gauges or {}).items()):
            family(name, "gauge", help_)
            out.append(f"{PREFIX}{name} {_num(value)}")
        return "\n".join(out) + "\n"
