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

Extension: ``burst`` (KB, fractional, default 0 = upstream's behaviour) is a
token bucket's depth, as Linux tc-tbf's ``burst``: a link idle long enough
has saved up to ``burst`` KB of credit, and that many bytes leave as they
arrive instead of at ``rate``; the credit refills at ``rate`` while the link
is idle. The bench sets it to the part of the machine's own time per exchange
that the latency toxic cannot take off (``bench.link.profiles``: a time-scaled
link whose round trip is shorter than the machine's), so a transfer takes
its model's time in all, not the model's time plus the machine's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bench.link.proxy.toxics import Chunk, Settings, ToxicState, register

# Upstream splits large chunks into 100 ms worth of data "so data flows smoothly".
SLICE_S = 0.1


class BandwidthState(ToxicState):
    __slots__ = ("busy_until",)
    # busy_until: the transmit clock, when the bytes accepted so far have left
    # at ``rate``; it may lag the present by ``burst / rate`` (the saved credit).

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
        burst = self.settings.burst  # type: ignore[attr-defined]
        # An idle link's clock lags its data by at most the credit it saved;
        # a piece never leaves before it arrived.
        clock = max(arrived - burst * 1000.0 / rate, self.busy_until)
        out = []
        for i in range(0, len(data), step):
            piece = data[i:i + step] if len(data) > step else data
            clock += len(piece) / rate
            out.append(Chunk(piece, clock if clock > arrived else arrived))
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
    burst: float = 0  # KB of credit an idle link saves (extension; 0: none, as upstream)

    FRACTIONAL = frozenset({"rate", "burst"})
    EXTENSIONS = frozenset({"burst"})
    STATE = BandwidthState
