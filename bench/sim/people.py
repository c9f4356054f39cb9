"""People: the field worker with the phone, and the dispatcher at the web app.

Theory of operation: each device with a behaviour preset runs one light
process (:func:`bench.sim.calls.spawn`: a generator that yields its waits in
seconds), :func:`worker`, a clock loop over the pure person of
:mod:`bench.scenario.people` (presets, acts, job flow, photo sizes): it waits
on the SimPy clock where the person waits and hands each act to the device.

Explicit ``steps`` (:func:`steps`) replay a scenario's timeline exactly; the
dispatcher (:func:`dispatcher`) creates, edits, changes and attaches to jobs
at per-device rates, and :func:`dispatch_steps` replays explicit operations.
Everything stops when the settle window begins (``fleet.settling``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from bench.scenario.dispatch import dispatcher_draws
from bench.scenario.model import DispatchStep, Step
from bench.scenario.people import Behaviour, workday
from bench.sim.ports import SimDevice, SimFleet


class _View:
    """The person's view of a simulated phone (bench.scenario.people.PhoneView)."""

    __slots__ = ("_device",)

    def __init__(self, device: SimDevice) -> None:
        self._device = device

    @property
    def app(self) -> str:
        return self._device.engine.app

    def jobs(self) -> list[str]:
        records = self._device.engine.store.records
        jobs = [rid for rid, r in records.items() if r.version is not None]
        jobs.sort()
        return jobs


def worker(device: SimDevice, b: Behaviour, rng: Any) -> Generator[float, None, None]:
    """Light process: the person of preset ``b`` (bench.scenario.people.workday)
    using ``device``, until the device stops."""
    env = device.env
    for op in workday(device.id, b, rng, _View(device)):
        kind = op[0]
        if kind == "at":
            if op[1] > env._now:
                yield op[1] - env._now
            if device.stopped:
                return
        elif kind == "app":
            device.app(op[1])
        elif kind == "manual":
            device.manual(op[1])
        else:
            _, record, what, status, text, nbytes = op
            device.edit(record, what, status=status, text=text, nbytes=nbytes)


def steps(device: SimDevice, timeline: tuple[Step, ...]) -> Generator[float, None, None]:
    """Light process: replay explicit steps at their times."""
    env = device.env
    for s in timeline:
        if s.t > env._now:
            yield s.t - env._now
        if device.stopped:
            return
        k = s.kind
        if k == "link":
            device.set_link(s.value)
        elif k == "app":
            device.app(s.value)
        elif k == "edit":
            device.edit(s.record or f"{device.id}-r0", s.value, status=s.status,
                        nbytes=s.bytes, text=s.text)
        elif k == "manual":
            device.manual(s.value or None)
        elif k == "snapshot":
            device.snapshot()


def dispatch_steps(fleet: SimFleet, timeline: tuple[DispatchStep, ...]) -> Generator[float, None, None]:
    env = fleet.env
    for d in timeline:
        if d.t > env._now:
            yield d.t - env._now
        if fleet.settling:
            return
        fleet.dispatch(d.op, d.record, d.assignee, status=d.status, file=d.file, nbytes=d.bytes)


def dispatcher(fleet: SimFleet, rng: Any, *, suffix: str = "") -> Generator[float, None, None]:
    """Light process: random dispatcher work at the scenario's per-device rates
    (the draws: bench.scenario.dispatch, shared with real runs)."""
    env = fleet.env
    scope = fleet.server.scope
    for draw in dispatcher_draws(fleet.scenario.dispatcher, fleet.behaving, rng,
                                 lambda dev: scope.get(dev, ()), suffix=suffix):
        if draw[0] == "wait":
            yield draw[1]
            if fleet.settling:
                return
            continue
        _, op, record, dev, fields = draw
        if op == "edit":
            fields = {"fields": {"notes": f"edited at {env.now:.0f}"}}
        fleet.dispatch(op, record, dev, **fields)
