"""Delayed calls on the SimPy clock, at the cost of one heap push.

Theory of operation: the drivers schedule some 360,000 calls per 300
device-days ("in 2.3 s, call ``fn(*args)``"), none of which any process
waits on. A :class:`simpy.events.Timeout` for each is a full event (a
``__dict__``, a callback list, ``env.schedule``). :class:`Call` is the least
an event must be for ``Environment.step`` -- a ``callbacks`` list and an
``_ok`` flag -- pushed on the environment's queue exactly as
``Environment.schedule`` does (same time, priority and event id), so a run
orders its events as it did with timeouts and its trace is the same, byte
for byte. It relies on SimPy 4's queue entries ``(time, priority, id,
event)``; tests/sim/test_sim_calls.py holds it to that.

:func:`run_until` is ``Environment.run(until=...)`` for a queue that is
mostly calls: a call is popped and made in the loop itself, without
``Environment.step``'s callback walk; any other event goes through
``step`` as before. The order is SimPy's: the stop comes before the events
at ``until`` of normal priority (``run`` schedules it as an urgent event),
so they wait for the next run, as they would have.

:func:`spawn` runs a generator that only waits (the people, the mobility
chains, the dispatcher) on the same calls: a light process.
"""

from __future__ import annotations

from heapq import heappop, heappush
from typing import Any

from simpy.events import NORMAL, URGENT


def _fire(call: Call) -> None:
    call.fn(*call.args)


# One list shared by every call: Environment.step only iterates it.
_CALLBACKS = [_fire]


class Call:
    __slots__ = ("callbacks", "_ok", "fn", "args")

    def __init__(self, fn: Any, args: tuple[Any, ...]) -> None:
        self.callbacks = _CALLBACKS
        self._ok = True
        self.fn = fn
        self.args = args


def later(env: Any, delay: float, fn: Any, *args: Any) -> None:
    """Call ``fn(*args)`` ``delay`` seconds from now on ``env``'s clock."""
    if delay < 0:
        raise ValueError(f"later: negative delay {delay}")
    heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), Call(fn, args)))


def spawn(env: Any, process: Any) -> None:
    """Run ``process``, a generator yielding delays in seconds, on ``env``'s clock.

    ``env.process(gen)`` for a generator that only ever waits
    (``yield env.timeout(d)`` there, ``yield d`` here), at the cost of one
    call per wait: no Process, Timeout or Initialize event, no callback walk.
    It starts as a Process does (an urgent event now) and each wait is
    scheduled where the Timeout would have been made, so the order is SimPy's.
    """
    heappush(env._queue, (env._now, URGENT, next(env._eid), Call(_resume, (env, process))))


def _resume(env: Any, process: Any) -> None:
    try:
        delay = next(process)
    except StopIteration:
        return
    later(env, delay, _resume, env, process)


def run_until(env: Any, until: float) -> None:
    """``env.run(until=until)``, making calls without ``Environment.step``."""
    if until <= env._now:
        raise ValueError(f"run_until: until ({until}) must be greater than the current time")
    q = env._queue
    step = env.step
    while q:
        head = q[0]
        t = head[0]
        if t > until or (t == until and head[1] != URGENT):
            break
        ev = head[3]
        if type(ev) is Call:
            heappop(q)
            env._now = t
            ev.fn(*ev.args)
        else:
            step()
    env._now = until
