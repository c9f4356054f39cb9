"""bandwidth: limit one stream of one connection to ``rate`` KB/s.

Upstream: "rate (KB/s, 1 KB = 1000 bytes): per connection and direction;
large chunks are split so data flows smoothly (≈100 ms slices)." The state
keeps a transmit clock (``busy_until``): each slice leaves when the previous
one has finished plus its own transmission time, so the stream carries
``rate`` bytes per second however the sender writes.

Pushing back: once the clock runs more than one slice ahead of the data's
arrival, the stream stops reading the sender until the backlog has shrunk to
one slice, so a slow link fills the sender's socket buffer, not the proxy.

Extension: ``rate`` may be fractional (GPRS's 20 kbps is 2.5 KB/s). A rate of
0 means unlimited, as upstream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bench.link.proxy.toxics import Chunk, Settings, ToxicState, register

# Upstream splits large chunks into 100 ms worth of data "so data flows smoothly".
SLICE_S = 0.1


class BandwidthState(ToxicState):
    __slots__ = ("busy_until",)

    def __init__(self, settings: Settings, control) -> None:
        super().__init__(settings, control)
        self.busy_until = 0.0

    def data(self, chunk: Chunk) -> Iterable[Chunk]:
        rate = self.settings.rate * 1000.0  # type: ignore[attr-defined]
        if rate <= 0:
            return (chunk,)
        data = chunk.data
        arrived = chunk.ready_at
        step = max(1, int(rate * SLICE_S))
        clock = max(arrived, self.busy_until)
        out = []
        for i in range(0, len(data), step):
            piece = data[i:i + step] if len(data) > step else data
            clock += len(piece) / rate
            out.append(Chunk(piece, clock))
        self.busy_until = clock
        backlog = clock - arrived
        if backlog > SLICE_S:
            # The next chunk would arrive here ``arrived - now`` after its read;
            # let the reader go again when one slice of backlog is left.
            now = self.control.now()
            self.control.hold(now + backlog - SLICE_S)
        return out


@register("bandwidth")
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Bandwidth(Settings):
    rate: float = 0  # KB/s (1 KB = 1000 bytes); fractional allowed (extension)

    FRACTIONAL = frozenset({"rate"})
    STATE = BandwidthState
