"""lose_reply: the request reaches the server, its answer never reaches the client.

An extension toxic (upstream Toxiproxy has none like it), for the fault a
mobile link makes most often and a sync protocol must survive: the server
applies a sync, the answer is cut, the device retries the same change ids
("exactly once"). On the ``downstream`` stream it watches for the start of an
HTTP response (a chunk beginning ``HTTP/1.``); that chunk and everything after
it on the connection are dropped and the connection is reset, so the client
sees its request sent and then a reset. ``101 Switching Protocols`` (a push
WebSocket opening) passes, and so does everything on a connection once it is
a WebSocket. ``count``: how many answers to lose in all, over every connection
of the proxy while the toxic stays (0: every one); an update starts it again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bench.link.proxy.toxics import Chunk, Settings, ToxicState, register

RESPONSE = b"HTTP/1."
UPGRADE = b" 101"


class LoseReplyState(ToxicState):
    __slots__ = ("cut", "websocket")

    def __init__(self, settings: Settings, control) -> None:
        super().__init__(settings, control)
        self.cut = False
        self.websocket = False

    def data(self, chunk: Chunk) -> Iterable[Chunk]:
        if self.cut:
            return ()
        data = chunk.data
        if self.websocket or not data.startswith(RESPONSE):
            return (chunk,)
        if data[8:12] == UPGRADE:
            self.websocket = True  # frames from here on are not HTTP answers
            return (chunk,)
        if not self.settings.take():  # type: ignore[attr-defined]
            return (chunk,)
        self.cut = True
        self.control.call_later(0.0, self.control.reset)
        return ()


@register("lose_reply")
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LoseReply(Settings):
    count: int = 0  # answers to lose over all connections; 0: every one
    # What is left of ``count``: shared by every connection's state (one list
    # per settings object, so an update starts the count again).
    _left: list = dataclasses.field(default_factory=list, compare=False, repr=False)

    STATE = LoseReplyState

    def __post_init__(self) -> None:
        self._left[:] = [self.count]  # a fresh count, also for an update built from a base

    def take(self) -> bool:
        """Lose this answer? (and count it)."""
        if self.count == 0:
            return True
        if self._left[0] <= 0:
            return False
        self._left[0] -= 1
        return True

    def attributes(self) -> dict:
        return {"count": self.count}
