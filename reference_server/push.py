"""Push hub: which devices are connected, and delivering pushes to them.

Theory of operation: each open WebSocket registers (user, device, send). A
:class:`~reference_server.core.Push` for a user goes to every registered device
of that user ("sends a push to the assignee's connected devices"), and each
frame sent is one ``srv_push`` trace event. A send that fails unregisters
that connection: the device will reconnect and sync.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

import orjson

from reference_server.core import Push
from reference_server.tracing import Tracer

Send = Callable[[str], Awaitable[None]]


class PushHub:
    def __init__(self, tracer: Tracer):
        self._tracer = tracer
        self._conns: dict[str, dict[int, tuple[str, Send]]] = {}

    def register(self, user: str, device: str, key: int, send: Send) -> None:
        self._conns.setdefault(user, {})[key] = (device, send)

    def unregister(self, user: str, key: int) -> None:
        conns = self._conns.get(user)
        if conns is not None:
            conns.pop(key, None)
            if not conns:
                del self._conns[user]

    def connected(self, user: str) -> list[str]:
        return sorted(dev for dev, _ in self._conns.get(user, {}).values())

    async def deliver(self, pushes: Iterable[Push]) -> None:
        for push in pushes:
            frame = orjson.dumps({"type": "push", "record": push.record,
                                  "reason": push.reason}).decode()
            for key, (device, send) in list(self._conns.get(push.user, {}).items()):
                try:
                    await send(frame)
                except Exception:  # a dead socket: drop it, the device re-syncs
                    self.unregister(push.user, key)
                    continue
                self._tracer.emit("srv_push", device, record=push.record, reason=push.reason)
