"""The WebSocket push listener (docs/protocol.md "Push: WebSocket ``/v1/push``").

Theory of operation: while the app runs and the link is up, the device holds
one WebSocket to ``/v1/push`` (the driver starts and stops the listener as the
engine's ``app`` and ``link`` change). Each text frame
``{"type": "push", "record": ..., "reason": ...}`` is handed to ``on_push``,
which feeds the engine a ``PushReceived``; other frames are ignored. The
protocol registers the connection "before the handshake completes, so once the
client's connect returns, pushes for it are delivered"; ``on_change`` fires
then (and when the connection is lost), so a test or runner can wait for it
instead of sleeping.

A dropped or refused connection is retried with exponential backoff in spec
seconds (``PUSH_BACKOFF_BASE_S`` doubling to ``PUSH_BACKOFF_MAX_S``, plus up to
10 % jitter from the injected ``random.Random``), converted to wall time by
the spec clock, so a time-compressed run reconnects K times faster too. A
successful connection resets the backoff.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable

import websockets
from websockets.asyncio.client import connect

from reference_client.client.clock import SpecClock
from reference_client.client.config import PUSH_BACKOFF_BASE_S, PUSH_BACKOFF_MAX_S

# Jitter added to each backoff, as a fraction of it (see module docstring).
BACKOFF_JITTER = 0.1
# websockets' keepalive ping interval and timeout in wall seconds (its defaults
# are 20 s each); a dead link is noticed within a minute.
PING_INTERVAL_S = 20.0
PING_TIMEOUT_S = 20.0


def backoff_s(failures: int, rng: random.Random, *, base: float = PUSH_BACKOFF_BASE_S,
              cap: float = PUSH_BACKOFF_MAX_S) -> float:
    """Spec seconds to wait after ``failures`` consecutive failures (>= 1)."""
    delay = min(base * 2 ** (failures - 1), cap)
    return delay + rng.uniform(0.0, delay * BACKOFF_JITTER)


class PushListener:
    """``PushListener(url=..., token=..., on_push=f, clock=..., rng=...)``; ``start()``/``stop()``."""

    def __init__(self, *, url: str, token: str, on_push: Callable[[str, str | None], None],
                 clock: SpecClock, rng: random.Random, open_timeout_s: float,
                 on_change: Callable[[], None] | None = None) -> None:
        self.url = url
        self._token = token
        self._on_push = on_push
        self._on_change = on_change
        self._clock = clock
        self._rng = rng
        self._open_timeout_s = open_timeout_s
        self._task: asyncio.Task[None] | None = None
        self.connects = 0
        self.connected = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="push")

    def stop(self) -> asyncio.Task[None] | None:
        """Cancel the listener; returns the task to await (or None)."""
        task, self._task = self._task, None
        self.connected = False
        if task is not None:
            task.cancel()
        return task

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                # proxy=None: the device talks to the URL it was given (a link
                # emulator on the bench), never to a proxy from the environment.
                async with connect(self.url, open_timeout=self._open_timeout_s,
                                   additional_headers={"Authorization": f"Bearer {self._token}"},
                                   ping_interval=PING_INTERVAL_S, ping_timeout=PING_TIMEOUT_S,
                                   proxy=None) as ws:
                    failures = 0
                    self.connects += 1
                    self.connected = True
                    self._changed()
                    async for frame in ws:
                        self._frame(frame)
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException):
                pass  # refused, reset or closed: back off and reconnect
            self.connected = False
            self._changed()
            failures += 1
            await asyncio.sleep(self._clock.to_wall(backoff_s(failures, self._rng)))

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def _frame(self, frame: str | bytes) -> None:
        try:
            msg = json.loads(frame)
        except ValueError:
            return  # not JSON: not a push
        if not isinstance(msg, dict) or msg.get("type") != "push":
            return
        record, reason = msg.get("record"), msg.get("reason")
        if isinstance(record, str) and record:
            self._on_push(record, reason if isinstance(reason, str) and reason else None)
