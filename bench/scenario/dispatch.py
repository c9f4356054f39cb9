"""The random dispatcher of a scenario, as a pure sequence of draws.

Theory of operation: the ``dispatcher:`` rates of a scenario say how often a
dispatcher creates, edits, changes the status of, and attaches files to the
jobs of each behaving device. :func:`dispatcher_draws` turns them into a
sequence both drivers consume, so the simulator (SimPy time) and the real
runner (wall time through the web API) follow the same model and, for the
same seed, the same draws::

    ("wait", seconds)                       # sleep this long, then go on
    ("op", op, record, device, fields)      # do this dispatcher operation

Which jobs a device has is the driver's state (the server model's scope, or
what the web API assigned), asked through ``jobs_of(device)`` at the moment of
each draw. The generator never reads a clock: the driver decides when a
"wait" ends and when to stop (the end of the run, the settle window).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from bench.scenario.model import DispatcherSpec

# The statuses a dispatcher sets in the web application (Planado's help:
# "status updated to Started, En route, Paused or Finished").
DISPATCH_STATUSES = ("en_route", "started", "paused", "finished")

Draw = tuple[Any, ...]


def dispatcher_draws(spec: DispatcherSpec, devices: Sequence[str], rng: Any,
                     jobs_of: Callable[[str], Sequence[str]], *, suffix: str = "") -> Iterator[Draw]:
    """The draws for ``devices``; ``suffix`` ends every job and file id it makes
    (a shard's ``.s2``, so shards of one fleet never name the same record)."""
    n_job = 0
    for dev in devices:
        for _ in range(spec.jobs_at_start):
            n_job += 1
            yield ("op", "create", f"job-{n_job}{suffix}", dev, {"status": "new"})
    ops = (("create", spec.create_per_h), ("edit", spec.edit_per_h),
           ("status", spec.status_per_h), ("attach", spec.attach_per_h))
    total_per_h = sum(r for _, r in ops)
    if not devices or total_per_h <= 0:
        return
    rate = total_per_h * len(devices) / 3600.0  # the rates are per device and hour
    n_file = 0
    while True:
        yield ("wait", rng.expovariate(rate))
        dev = devices[int(rng.random() * len(devices))]
        x = rng.random() * total_per_h
        op = ops[-1][0]
        for name, r in ops:
            x -= r
            if x < 0:
                op = name
                break
        jobs = list(jobs_of(dev))
        if op == "create" or not jobs:
            n_job += 1
            yield ("op", "create", f"job-{n_job}{suffix}", dev, {"status": "new"})
            continue
        job = jobs[int(rng.random() * len(jobs))]
        if op == "edit":
            yield ("op", "edit", job, dev, {})
        elif op == "status":
            yield ("op", "status", job, dev,
                   {"status": DISPATCH_STATUSES[int(rng.random() * len(DISPATCH_STATUSES))]})
        else:
            n_file += 1
            yield ("op", "attach", job, dev,
                   {"file": f"att-{n_file}{suffix}", "nbytes": max(1, int(spec.attach_bytes.sample(rng)))})
