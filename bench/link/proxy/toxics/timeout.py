"""timeout: swallow all data; close the connection after ``timeout`` ms (0: never).

Upstream: "drop all data; close after timeout ms (0: never close). Removing it
closes the affected connections." With ``timeout`` 0 this is the bench's
blackhole: the link is up, the connection opens, nothing ever arrives. The
timer starts when the toxic starts applying to the connection (when it opens,
or when the toxic is added); an update restarts it with the new value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from bench.link.proxy.toxics import Chunk, Settings, ToxicState, register

MS = 1e-3


class TimeoutState(ToxicState):
    __slots__ = ("timer",)

    def __init__(self, settings: Settings, control) -> None:
        super().__init__(settings, control)
        self.timer = None

    def data(self, chunk: Chunk) -> Iterable[Chunk]:
        return ()  # "drop all data"

    def start(self) -> None:
        timeout = self.settings.timeout  # type: ignore[attr-defined]
        if timeout > 0:
            self.timer = self.control.call_later(timeout * MS, self.control.close)

    def updated(self, old: Settings) -> None:
        self.release()
        self.start()

    def stop(self) -> None:
        # "Removing it closes the affected connections."
        self.release()
        self.control.close()

    def release(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


@register("timeout")
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Timeout(Settings):
    timeout: int = 0  # ms; 0 = hang forever

    STATE = TimeoutState
