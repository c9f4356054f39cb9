"""reset_peer: ``timeout`` ms after the first data, reset the connection.

Upstream: "after timeout ms from the first data, reset the connection (the
peer sees ECONNRESET)." As upstream, the data that arms the timer and all data
after it is held back (never delivered): the peer sees the connection open,
then a reset. The reset is an abortive close (SO_LINGER 0) of both sockets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bench.link.proxy.toxics import Chunk, Settings, ToxicState, register

MS = 1e-3


class ResetPeerState(ToxicState):
    __slots__ = ("timer",)

    def __init__(self, settings: Settings, control) -> None:
        super().__init__(settings, control)
        self.timer = None

    def data(self, chunk: Chunk) -> Iterable[Chunk]:
        if self.timer is None:
            delay = self.settings.timeout * MS  # type: ignore[attr-defined]
            self.timer = self.control.call_later(delay, self.control.reset)
        return ()

    def stop(self) -> None:
        self.release()

    def release(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


@register("reset_peer")
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResetPeer(Settings):
    timeout: int = 0  # ms after the first data

    STATE = ResetPeerState
