"""slicer: cut data into small pieces with a pause between them.

Upstream: "average_size, size_variation (bytes), delay (µs): split data into
small pieces with a delay between them." Piece sizes are drawn uniformly from
``average_size ± size_variation`` (at least one byte) with the stream's seeded
``random.Random``. Each piece leaves ``delay`` µs after the previous one, and
the pause carries over between chunks, so the slicer pushes back on the sender
the way a slow link does. Reassembled, the pieces are the original bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bench.link.proxy.toxics import Chunk, Settings, ToxicState, register

US = 1e-6


class SlicerState(ToxicState):
    __slots__ = ("next_at",)

    def __init__(self, settings: Settings, control) -> None:
        super().__init__(settings, control)
        self.next_at = 0.0

    def data(self, chunk: Chunk) -> Iterable[Chunk]:
        s: Slicer = self.settings  # type: ignore[assignment]
        if s.average_size <= 0:
            return (chunk,)
        data, rng = chunk.data, self.control.rng
        arrived = chunk.ready_at
        at = max(arrived, self.next_at)
        out, i = [], 0
        while i < len(data):
            size = s.average_size
            if s.size_variation:
                size += rng.randint(-s.size_variation, s.size_variation)
            size = max(1, size)
            out.append(Chunk(data[i:i + size], at))
            i += size
            at += s.delay * US
        self.next_at = at
        if at > arrived:
            now = self.control.now()
            self.control.hold(now + (at - arrived))
        return out


@register("slicer")
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Slicer(Settings):
    average_size: int = 0  # bytes
    size_variation: int = 0  # bytes
    delay: int = 0  # µs between pieces

    STATE = SlicerState
