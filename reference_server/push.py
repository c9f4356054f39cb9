"""Push hub: delivering pushes to the assignee's devices over WebSocket.

Theory of operation: the hub plays the part a mobile push service (APNs/FCM)
plays for a product server. A :class:`~reference_server.core.Push` for a user
is *sent* to every device of that user ("sends a push to the assignee's
connected devices"; the rules expect a ``srv_push`` for every dispatch with an
assignee, planado.push_sent), and each send is one ``srv_push`` trace event.
A device with an open ``/v1/push`` socket gets the frame at once; a device
without one gets it when it connects, if that is within ``PUSH_QUEUE_TTL_S``
spec seconds, else never (a device that was away syncs anyway when it comes
back). A send that fails unregisters that connection.

    core -> [Push(user, record, reason)] -> deliver -> srv_push per device
                                                    -> socket now, or queue (TTL)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

from reference_server.core import Push
from reference_server.tracing import Tracer

Send = Callable[[str], Awaitable[None]]
# Spec seconds a push waits for its device to connect. Below the rules'
# scope_slack_s (5, spec/rules.md), so a late delivery still lands while the
# device counts as the record's (recent) assignee (planado.push_scope).
PUSH_QUEUE_TTL_S = 4.0
# Pending pushes kept per device; older ones are dropped first.
PUSH_QUEUE_MAX = 64


class PushHub:
    def __init__(self, tracer: Tracer, devices_of: Callable[[str], Iterable[str]]):
        self._tracer = tracer
        self._devices_of = devices_of
        self._conns: dict[str, dict[int, tuple[str, Send]]] = {}
        self._pending: dict[str, deque[tuple[float, str]]] = {}
        # Other instances on the same database (reference_server.pushbus), or None.
        self.bus: Any = None

    def register(self, user: str, device: str, key: int, send: Send) -> None:
        self._conns.setdefault(user, {})[key] = (device, send)

    def unregister(self, user: str, key: int) -> None:
        conns = self._conns.get(user)
        if conns is not None:
            conns.pop(key, None)
            if not conns:
                del self._conns[user]

    def connection_count(self) -> int:
        return sum(len(c) for c in self._conns.values())

    def connected(self, user: str) -> list[str]:
        return sorted(dev for dev, _ in self._conns.get(user, {}).values())

    async def deliver(self, pushes: Iterable[Push]) -> None:
        pushes = list(pushes)
        for push in pushes:
            frame = orjson.dumps({"type": "push", "record": push.record,
                                  "reason": push.reason}).decode()
            live = self._conns.get(push.user, {})
            online = {dev for dev, _ in live.values()}
            for device in sorted(set(self._devices_of(push.user)) | online):
                self._tracer.emit("srv_push", device, record=push.record, reason=push.reason)
                if device not in online:
                    q = self._pending.setdefault(device, deque(maxlen=PUSH_QUEUE_MAX))
                    q.append((self._tracer.clock(), frame))
            for key, (_device, send) in list(live.items()):
                await self._send(push.user, key, send, frame)
        if self.bus is not None and pushes:
            await self.bus.publish(pushes)

    async def send_local(self, push: Push) -> None:
        """A push another instance sent: frames to this instance's sockets of the user only."""
        frame = orjson.dumps({"type": "push", "record": push.record,
                              "reason": push.reason}).decode()
        for key, (_device, send) in list(self._conns.get(push.user, {}).items()):
            await self._send(push.user, key, send, frame)

    async def flush(self, user: str, device: str, key: int, send: Send) -> None:
        """Deliver what waited for this device (call once its socket is open)."""
        q = self._pending.pop(device, None)
        if not q:
            return
        cutoff = self._tracer.clock() - PUSH_QUEUE_TTL_S
        for t, frame in q:
            if t >= cutoff:
                await self._send(user, key, send, frame)

    async def _send(self, user: str, key: int, send: Send, frame: str) -> None:
        try:
            await send(frame)
        except Exception:  # a dead socket: drop it, the device re-syncs
            self.unregister(user, key)
