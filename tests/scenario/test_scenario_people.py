"""The pure person (bench.scenario.people) and its two clock loops.

"Same scenario + seed → the same inputs in all three modes": the simulator's
SimPy process and the real runner's coroutine replay one workday generator,
so given the same phone state they hand the device the same acts at the same
spec times.
"""

from __future__ import annotations

import asyncio
import random

from bench.real.people import worker as real_worker
from bench.scenario.people import JOB_FLOW, PRESETS, workday
from bench.sim.calls import Clock, spawn
from bench.sim.people import worker as sim_worker

HOURS = 30 * 3600.0  # past one shift and into the next day


class Phone:
    """A stub phone for both drivers: app state, three jobs, a log of acts."""

    def __init__(self, now):
        self.now = now
        self.log = []
        self.engine = self
        self.app_state = "closed"
        self.stopped = False
        self.id = "w1"
        self.config = self

    # the engine's and the sim's view
    @property
    def app(self):
        return self.app_state

    @app.setter
    def app(self, value):  # pragma: no cover - never set through the property
        self.app_state = value

    @property
    def store(self):
        return self

    @property
    def records(self):
        class R:
            version = 1
        return {f"job-{i}": R() for i in (3, 1, 2)}

    device = "w1"

    def _act(self, *a):
        self.log.append((round(self.now(), 6), *a))
        if a[0] == "app":
            self.app_state = "background" if a[1] == "minimized" else (
                "foreground" if a[1] in ("opened", "restored") else a[1])


class SimPhone(Phone):
    def app(self, state):  # noqa: F811 - the sim calls device.app(state)
        self._act("app", state)

    def manual(self, via=None):
        self._act("manual", via)

    def edit(self, record, kind, *, status=None, nbytes=None, text=None):
        self._act("edit", record, kind, status, text, nbytes)


def run_sim(seed):
    env = Clock()
    phone = SimPhone(lambda: env.now)
    phone.env = env
    phone.engine = type("E", (), {"app": property(lambda s: phone.app_state),
                                  "store": phone})()
    spawn(env, sim_worker(phone, PRESETS["field_worker"], random.Random(seed)))
    env.run(until=HOURS)
    return phone.log


def run_real(seed):
    clock = [0.0]

    class RealPhone(Phone):
        async def app(self, state):  # noqa: F811
            self._act("app", state)

        async def manual(self, via=None):
            self._act("manual", via)

        async def edit(self, record, kind, *, fields=None, status=None, nbytes=None):
            self._act("edit", record, kind, status, None if fields is None else fields["report"],
                      nbytes)

        def records(self):
            return {"job-3": 1, "job-1": 1, "job-2": 1}

    phone = RealPhone(lambda: clock[0])
    phone.engine = type("E", (), {"app": property(lambda s: phone.app_state)})()

    async def until(t):
        clock[0] = t

    asyncio.run(real_worker(phone, PRESETS["field_worker"], random.Random(seed), until,
                            lambda: clock[0], HOURS))
    return phone.log


def test_sim_and_real_drivers_hand_the_device_the_same_acts():
    sim, real = run_sim(11), run_real(11)
    assert len(sim) > 100
    assert sim == real


def test_a_workday_is_seeded_and_follows_the_job_flow():
    class View:
        app = "foreground"

        def jobs(self):
            return ["a", "b"]

    def ops(seed, n=400):
        gen = workday("w1", PRESETS["field_worker"], random.Random(seed), View())
        return [next(gen) for _ in range(n)]

    a = ops(4)
    assert a == ops(4) != ops(5)
    times = [op[1] for op in a if op[0] == "at"]
    assert times == sorted(times) and times[0] <= PRESETS["field_worker"].start_spread_s
    seen: dict[str, str | None] = {}
    for op in a:
        if op[0] == "edit" and op[2] == "status":
            assert op[3] in (JOB_FLOW.get(seen.get(op[1])), "paused")
            seen[op[1]] = op[3]
        if op[0] == "edit" and op[2] == "photo":
            assert op[5] >= 1
