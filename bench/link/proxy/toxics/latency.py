"""latency: delay each chunk by ``latency ± jitter`` milliseconds.

Upstream: "each chunk is delayed latency ± jitter (uniform), counting time it
already spent in the proxy; chunks never reorder; latency does not cap
throughput." The delay is added to the chunk's ``ready_at`` (which started at
its read time), so two latency toxics add up and time spent behind an earlier
toxic counts. The stream's FIFO keeps the order when jitter would swap two
chunks. Latency never holds the reader back: the stream's bounded queue is the
only limit, as upstream's 1024-chunk latency buffer is.

Extension: ``latency`` and ``jitter`` may be fractional milliseconds.

Extension: ``handshake`` (ms, default 0, shown only when set): a connection's
first chunk on the stream leaves no earlier than ``handshake`` ms after the
connection was accepted, then pays its latency. On a real link a new
connection's first request leaves after the TCP handshake's round trip; the
proxy accepts at once, so without this a fresh connection is one round trip
faster than the link it stands for. Counting from the accept, the proxy's
own dial of the upstream happens inside the hold instead of on top of it.
Applies to connections the toxic saw open; one added later does not hold an
established connection. A real toxiproxy-server ignores the unknown
attribute (no handshake), as it ignores every unknown key.

The jitter draw comes from the stream's seeded ``random.Random``, so a seeded
server delays the same chunks by the same amounts on every run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bench.link.proxy.toxics import Chunk, Settings, StreamControl, ToxicState, register

MS = 1e-3


class LatencyState(ToxicState):
    __slots__ = ("hold_until",)

    def __init__(self, settings: Settings, control: StreamControl) -> None:
        super().__init__(settings, control)
        self.hold_until = 0.0  # the first chunk's earliest time, while it has not come

    def start(self) -> None:
        s: Latency = self.settings  # type: ignore[assignment]
        if s.handshake and self.control.fresh:
            self.hold_until = self.control.opened_at + s.handshake * MS

    def data(self, chunk: Chunk) -> Iterable[Chunk]:
        s: Latency = self.settings  # type: ignore[assignment]
        if self.hold_until:
            if chunk.ready_at < self.hold_until:
                chunk.ready_at = self.hold_until
            self.hold_until = 0.0
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
    handshake: float = 0  # ms from the accept before a connection's first chunk (extension)

    # Extension: fractional milliseconds, so that a time-scaled latency
    # (250 ms / K=60 = 4.17 ms) is not rounded by up to 12 %.
    FRACTIONAL = frozenset({"latency", "jitter", "handshake"})
    EXTENSIONS = frozenset({"handshake"})
    STATE = LatencyState
