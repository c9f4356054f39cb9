"""The server's service queue: c workers, first come first served.

Theory of operation: requests reach the server in time order (the simulator
admits each one when it arrives), so the c-server FCFS queue needs no process
of its own. Each worker is free from some time on; an arriving request takes
the worker that frees first, and starts at ``max(arrival, that time)``
(Kiefer and Wolfowitz's workload recursion for the FCFS G/G/c queue)::

    free times (heap):  [3.1, 4.0, 7.2]     arrival 3.5, service 0.8
    -> start = max(3.5, 3.1) = 3.5, end = 4.3; heap [4.0, 4.3, 7.2]

That is the exact FCFS multi-server queue, at the cost of one heap operation
per request, so load produces latency without a SimPy resource per request.
The test suite checks it against M/M/c theory (Erlang C).

The queue also keeps the measurements a trace does not hold: requests per
second and the mean wait, per ``bucket_s`` of spec time.
"""

from __future__ import annotations

import heapq
import math
from typing import Any

from bench.scenario.model import Dist

# One minute buckets: fine enough to see a reconnect storm, coarse enough to
# keep a 24-hour series at 1,440 points.
BUCKET_S = 60.0


class ServiceQueue:
    def __init__(self, *, workers: int, service: Dist, rng: Any, bucket_s: float = BUCKET_S) -> None:
        if workers < 1:
            raise ValueError(f"ServiceQueue.workers: must be >= 1, got {workers!r}")
        self.workers = workers
        self.service = service
        self._rng = rng
        self._free = [0.0] * workers
        self.bucket_s = bucket_s
        self.n = 0
        self.wait_sum = 0.0
        self.wait_max = 0.0
        self._counts: dict[int, int] = {}
        self._waits: dict[int, float] = {}

    def admit(self, now: float) -> tuple[float, float]:
        """A request arrives at ``now``: its (start, end) of service."""
        free = self._free
        first = free[0]
        start = first if first > now else now
        end = start + self.service.sample(self._rng)
        heapq.heapreplace(free, end)
        wait = start - now
        self.n += 1
        self.wait_sum += wait
        if wait > self.wait_max:
            self.wait_max = wait
        b = int(now // self.bucket_s)
        self._counts[b] = self._counts.get(b, 0) + 1
        self._waits[b] = self._waits.get(b, 0.0) + wait
        return start, end

    @property
    def mean_wait(self) -> float:
        return self.wait_sum / self.n if self.n else 0.0

    def series(self) -> dict[str, list[tuple[float, float]]]:
        """``server_rps`` and ``queue_wait_s`` per bucket, for the report."""
        rps, wait = [], []
        for b in sorted(self._counts):
            t, n = b * self.bucket_s, self._counts[b]
            rps.append((t, n / self.bucket_s))
            wait.append((t, self._waits[b] / n))
        return {"server_rps": rps, "queue_wait_s": wait}


def erlang_c_wait(*, arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C): ``C(c, a) / (c*mu - lambda)``."""
    a = arrival_rate / service_rate
    c = servers
    if a >= c:
        raise ValueError("unstable queue: arrival rate >= capacity")
    top = a ** c / math.factorial(c) * c / (c - a)
    bottom = sum(a ** k / math.factorial(k) for k in range(c)) + top
    return (top / bottom) / (c * service_rate - arrival_rate)
