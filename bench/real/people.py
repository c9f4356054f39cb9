"""People in a real run: the person with the phone, as asyncio coroutines.

Theory of operation: the simulator's people (``bench.sim.people``) are SimPy
processes, so they cannot drive a real client. :func:`worker` is the same
person written for asyncio: it takes the simulator's behaviour presets
(``bench.sim.people.PRESETS``: act rate, shift length, act weights, photo
sizes) and draws from the same distributions -- exponential gaps between acts,
a weighted pick of the act, the job status flow ``en_route -> started ->
(paused -> started) -> finished`` -- but from its own ``random.Random``
(``"<seed>/<dev>/behaviour"``), and it waits in wall time (``t / K``). Acts
follow the device's real state (app state, the records it holds), as the
simulator's do, so the two modes agree in distribution, not event by event.

``until(t)`` is injected: it sleeps until spec time ``t`` of the run.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

from bench.sim.people import DAY_S, JOB_FLOW, PAUSE_P, Behaviour

Until = Callable[[float], Awaitable[None]]


def _open_jobs(dev: Any, stages: dict[str, str | None]) -> list[str]:
    records = dev.records()
    return sorted(r for r, v in records.items() if v is not None and stages.get(r) != "finished")


async def worker(dev: Any, b: Behaviour, rng: random.Random, until: Until, now: Callable[[], float],
                 end_s: float) -> None:
    """Use the real client ``dev`` the way preset ``b`` says, until spec time ``end_s``."""
    stages: dict[str, str | None] = {}
    n_new = 0
    t = rng.uniform(0.0, b.start_spread_s)
    while t < end_s:
        await until(t)
        shift_end = t + b.shift_s
        await dev.app("opened")
        while True:
            t += rng.expovariate(1.0 / b.act_mean_s)
            if t >= end_s:
                return
            await until(t)
            if t >= shift_end:
                break
            state = dev.engine.app
            if state == "closed":
                await dev.app("opened")
                continue
            if state == "background":
                await dev.app("restored")
                continue
            act = b.pick(rng)
            if act == "minimize":
                await dev.app("minimized")
            elif act == "close":
                await dev.app("closed")
            elif act == "manual":
                await dev.manual("pull")
            elif act == "create":
                n_new += 1
                await dev.edit(f"{dev.config.device}-r{n_new}", "text",
                               fields={"report": "new record"})
            elif act in ("status", "text", "photo"):
                jobs = _open_jobs(dev, stages)
                if not jobs:
                    continue
                job = jobs[int(rng.random() * len(jobs))]
                if act == "status":
                    nxt = JOB_FLOW.get(stages.get(job))
                    if nxt == "finished" and rng.random() < PAUSE_P:
                        nxt = "paused"
                    if nxt is None:
                        continue
                    stages[job] = nxt
                    await dev.edit(job, "status", status=nxt)
                elif act == "text":
                    await dev.edit(job, "text", fields={"report": f"note at {now():.0f}"})
                else:
                    await dev.edit(job, "photo", nbytes=max(1, int(b.photo_bytes.sample(rng))))
        if dev.engine.app != "closed":
            await dev.app("closed")
        t = shift_end + max(0.0, DAY_S - b.shift_s)
