"""limit_data: forward ``bytes`` bytes on this stream, then close the connection.

Upstream: "forward that many bytes, then close." The chunk that crosses the
limit is cut exactly at it and followed by the end-of-stream marker, so the
peer receives precisely ``bytes`` bytes and then the close; anything later is
dropped. The count is per connection and stream and survives updates, so
raising the limit mid-connection lets more through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bench.link.proxy.toxics import Chunk, Settings, ToxicState, register


class LimitDataState(ToxicState):
    __slots__ = ("passed", "ended")

    def __init__(self, settings: Settings, control) -> None:
        super().__init__(settings, control)
        self.passed = 0
        self.ended = False

    def data(self, chunk: Chunk) -> Iterable[Chunk]:
        if self.ended:
            return ()
        limit = self.settings.bytes  # type: ignore[attr-defined]
        left = limit - self.passed
        if len(chunk.data) < left:
            self.passed += len(chunk.data)
            return (chunk,)
        self.ended = True
        self.passed = limit
        out = [Chunk(None, chunk.ready_at)]
        if left > 0:
            out.insert(0, Chunk(chunk.data[:left], chunk.ready_at))
        return out


@register("limit_data")
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LimitData(Settings):
    bytes: int = 0  # bytes to forward before closing

    STATE = LimitDataState
