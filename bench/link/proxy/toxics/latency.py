"""latency: delay each chunk by ``latency ± jitter`` milliseconds.

Upstream: "each chunk is delayed latency ± jitter (uniform), counting time it
already spent in the proxy; chunks never reorder; latency does not cap
throughput." The delay is added to the chunk's ``ready_at`` (which started at
its read time), so two latency toxics add up and time spent behind an earlier
toxic counts. The stream's FIFO keeps the order when jitter would swap two
chunks. Latency never holds the reader back: the stream's bounded queue is the
only limit, as upstream's 1024-chunk latency buffer is.

Extension: ``latency`` and ``jitter`` may be fractional milliseconds.

The jitter draw comes from the stream's seeded ``random.Random``, so a seeded
server delays the same chunks by the same amounts on every run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bench.link.proxy.toxics import Chunk, Settings, ToxicState, register

MS = 1e-3


class LatencyState(ToxicState):
    __slots__ = ()

    def data(self, chunk: Chunk) -> Iterable[Chunk]:
        s: Latency = self.settings  # type: ignore[assignment]
        delay = s.latency
        if s.jitter:
            delay += self.control.rng.uniform(-s.jitter, s.jitter)
        if delay > 0:
            chunk.ready_at += delay * MS
        return (chunk,)


@register("latency")
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Latency(Settings):
    latency: float = 0  # ms
    jitter: float = 0  # ms, uniform either side of ``latency``

    # Extension: fractional milliseconds, so that a time-scaled latency
    # (250 ms / K=60 = 4.17 ms) is not rounded by up to 12 %.
    FRACTIONAL = frozenset({"latency", "jitter"})
    STATE = LatencyState
