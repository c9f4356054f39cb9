"""Pushes across server instances: PostgreSQL LISTEN/NOTIFY.

Theory of operation: several server processes may serve one PostgreSQL
database, and a device's push socket is held by whichever instance it
connected to. The instance that makes a dispatcher change delivers the push
to its own sockets (and writes the ``srv_push`` events, queues for devices
connected nowhere) as a single instance does, then publishes it on the
channel ``syncbench_push``; every other instance sends the frame to the
sockets it holds for that user, and writes nothing to the trace (one
``srv_push`` per device, as the rules expect)::

    instance A: web change -> hub.deliver (local sockets, srv_push, queue) -> NOTIFY
    instance B:                LISTEN -> hub.send_local (its own sockets only)

A device that is connected nowhere when the push is sent gets it from A's
queue if it reconnects to A within the queue's TTL; reconnecting to another
instance it syncs anyway (the push is a hint, the sync is the truth). Two
connections: one held by LISTEN, one for NOTIFY, since a connection waiting
for notifications cannot run a statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

import orjson

from reference_server.core import Push

CHANNEL = "syncbench_push"
# pg_notify payloads must stay under 8000 bytes; a push is well below.
MAX_PAYLOAD = 7000


class PgPushBus:
    def __init__(self, url: str, hub: Any) -> None:
        self.url = url
        self.hub = hub
        self.instance = secrets.token_hex(8)
        self._listen: Any = None
        self._publish: Any = None
        self._task: asyncio.Task | None = None
        self.received = 0  # pushes sent on by this instance for another one

    async def start(self) -> None:
        import psycopg

        self._listen = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        self._publish = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        await self._listen.execute(f"LISTEN {CHANNEL}")
        self._task = asyncio.get_running_loop().create_task(self._run(), name="push-bus")

    async def _run(self) -> None:
        async for note in self._listen.notifies():
            try:
                msg = orjson.loads(note.payload)
            except orjson.JSONDecodeError:
                continue
            if msg.get("from") == self.instance:
                continue
            self.received += 1
            await self.hub.send_local(Push(user=msg["user"], record=msg["record"],
                                           reason=msg["reason"]))

    async def publish(self, pushes: list[Push]) -> None:
        if self._publish is None:
            return  # not started yet (the demo's seeding before serving): nobody to tell
        for p in pushes:
            payload = orjson.dumps({"from": self.instance, "user": p.user, "record": p.record,
                                    "reason": p.reason}).decode()
            if len(payload) <= MAX_PAYLOAD:
                await self._publish.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        for conn in (self._listen, self._publish):
            if conn is not None:
                await conn.close()
