"""slow_close: hold the end of stream back by ``delay`` milliseconds.

Upstream: "delay the close after end of stream." Data passes untouched; only
the end-of-stream marker waits, so the peer sees its FIN (and the proxy closes
the whole connection) ``delay`` ms after the data.
"""

from __future__ import annotations

import dataclasses

from bench.link.proxy.toxics import Settings, ToxicState, register

MS = 1e-3


class SlowCloseState(ToxicState):
    __slots__ = ()

    def eof(self, at: float) -> float:
        return at + self.settings.delay * MS  # type: ignore[attr-defined]


@register("slow_close")
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SlowClose(Settings):
    delay: int = 0  # ms

    STATE = SlowCloseState
