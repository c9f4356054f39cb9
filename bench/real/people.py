"""People in a real run: the person with the phone driving a real client.

Theory of operation: the person is the pure day of
:mod:`bench.scenario.people` (the simulator's too); :func:`worker` is its
asyncio clock loop: it sleeps until each spec time the person waits for
(``until(t)``, injected: wall time ``t / K``) and hands each act to the real
client. Acts read the real client's state (app state, the records it holds),
so given the same state the person acts as in the simulator; the seed is the
device's (``"<seed>/<dev>/behaviour"``).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

from bench.scenario.people import Behaviour, workday

Until = Callable[[float], Awaitable[None]]


class _View:
    """The person's view of a real client (bench.scenario.people.PhoneView)."""

    __slots__ = ("_dev",)

    def __init__(self, dev: Any) -> None:
        self._dev = dev

    @property
    def app(self) -> str:
        return self._dev.engine.app

    def jobs(self) -> list[str]:
        return sorted(r for r, v in self._dev.records().items() if v is not None)


async def worker(dev: Any, b: Behaviour, rng: random.Random, until: Until, now: Callable[[], float],
                 end_s: float) -> None:
    """Use the real client ``dev`` the way preset ``b`` says, until spec time ``end_s``."""
    for op in workday(dev.config.device, b, rng, _View(dev), note=lambda t: f"note at {now():.0f}"):
        kind = op[0]
        if kind == "at":
            if op[1] >= end_s:
                return
            await until(op[1])
        elif kind == "app":
            await dev.app(op[1])
        elif kind == "manual":
            await dev.manual(op[1])
        else:
            _, record, what, status, text, nbytes = op
            fields = None if text is None else {"report": text}
            await dev.edit(record, what, fields=fields, status=status, nbytes=nbytes)
