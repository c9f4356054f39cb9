"""What the simulator's parts need of one another, as protocols at the bottom of the package.

Theory of operation: :class:`~bench.sim.fleet.Fleet` builds the devices and
starts the processes that drive them (people, mobility, pushes); those
processes and the device call back into the device and the fleet. They name
those objects by the protocols below rather than by importing the classes, so
the arrows of ``bench/sim`` point one way: ``fleet`` imports ``device``,
``people``, ``mobility`` and ``push``; they import only this module.
"""

from __future__ import annotations

from typing import Any, Protocol


class SimDevice(Protocol):
    """A simulated phone, as the people, mobility and push processes drive it."""

    id: str
    env: Any  # simpy.Environment
    engine: Any  # reference_client.engine.Engine
    stopped: bool

    def set_link(self, name: str) -> None: ...

    def app(self, state: str) -> None: ...

    def edit(self, record: str, kind: str, *, status: str | None = None,
             nbytes: int | None = None, text: str | None = None) -> None: ...

    def manual(self, via: str | None = None) -> None: ...

    def snapshot(self) -> None: ...

    def push(self, record: str, reason: str | None, sent_at: float, ttl_s: float,
             force: bool = False) -> bool: ...


class SimFleet(Protocol):
    """The fleet, as its devices and the dispatcher processes see it."""

    env: Any
    scenario: Any  # bench.scenario.Scenario
    settling: bool
    behaving: list[str]
    server: Any  # bench.sim.server.ServerModel
    queue: Any  # bench.sim.queue.ServiceQueue
    push_service: Any  # bench.sim.push.PushService
    bytes_moved: float
    # The server's windows (spec seconds, [from, to)): HTTP 503, answers lost.
    # Empty on most days: a device asks the methods below only when they are not.
    outages: tuple[tuple[float, float], ...]
    lost_responses: tuple[tuple[float, float], ...]

    def emit(self, ev: dict[str, Any]) -> None: ...

    def in_outage(self, now: float) -> bool: ...

    def response_lost(self, now: float) -> bool: ...

    def dispatch(self, op: str, record: str, assignee: str | None, *, status: str | None = None,
                 file: str | None = None, nbytes: int | None = None,
                 fields: dict[str, Any] | None = None) -> None: ...
