"""Delayed calls on the SimPy clock, at the cost of one heap push.

Theory of operation: the drivers schedule some 360,000 calls per 300
device-days ("in 2.3 s, call ``fn(*args)``"), none of which any process
waits on. A :class:`simpy.events.Timeout` for each is a full event (a
``__dict__``, a callback list, ``env.schedule``). A call is no event at all:
its queue entry is ``(time, priority, id, fn, args)``, one element longer
than SimPy's ``(time, priority, id, event)`` and filed exactly as
``Environment.schedule`` files an event (same time, priority and event id),
so a run orders its events as it did with timeouts and its trace is the
same, byte for byte. Entries never compare past their unique id, so the two
shapes share one queue; :meth:`Clock.step` makes a call and hands an event
to SimPy's ``step``. (An object per call, as an earlier version had, was one
more allocation per call and one more cold object to touch when it came due:
a 10,000-device day keeps some 30,000 pending.) It relies on SimPy 4's queue
entries; tests/sim/test_sim_calls.py holds it to that.

:func:`run_until` is ``Environment.run(until=...)`` for a queue that is
mostly calls: a call is popped and made in the loop itself, without
``Environment.step``'s callback walk; any other event goes through
``step`` as before. The order is SimPy's: the stop comes before the events
at ``until`` of normal priority (``run`` schedules it as an urgent event),
so they wait for the next run, as they would have.

:func:`spawn` runs a generator that only waits (the people, the mobility
chains, the dispatcher) on the same calls: a light process.

:class:`Clock` is the environment they run on: a SimPy ``Environment``
whose queue is a calendar. A day of 10,000 devices keeps some 30,000 calls
pending, so every pop of one heap walks 15 levels of tuples spread over the
whole run's memory (9 % of such a run in ``heappop`` alone). The clock keeps
only the current second's entries in the heap (``_queue``, a hundred or two)
and every later one in a list per second, heapified when its second comes::

    heap  [(7.2, ..), (7.9, ..)]     every entry with t < 8.0 (``_edge``)
    later {9: [(9.4, ..)], 130: [(130.1, ..), (130.0, ..)]}, seconds [9, 130]

Entries leave in the order of their full ``(time, priority, id)`` keys, as
from SimPy's one heap (a second's entries are all later than the heap's), so
a run is the same event for event; ``schedule``, ``step`` and ``peek`` are
the environment's own, so timeouts, processes and ``env.run`` work as on any
SimPy environment (tests/sim/test_sim_calls.py holds both to that).
"""

from __future__ import annotations

import math
from heapq import heapify, heappop, heappush
from typing import Any

import simpy
from simpy.core import EmptySchedule, Infinity
from simpy.events import NORMAL, URGENT

# The calendar's width in seconds: a power of two, so that a time's second is
# exact (t < edge <=> floor(t) < the next second, with no rounding between).
BUCKET_S = 1.0


class Clock(simpy.Environment):
    """A SimPy environment with a calendar queue (see the module's text)."""

    def __init__(self, initial_time: float = 0.0) -> None:
        super().__init__(initial_time)
        # The heap holds every entry with t < _edge; later ones wait by second.
        self._edge = (math.floor(initial_time / BUCKET_S) + 1) * BUCKET_S
        self._later: dict[int, list[tuple[Any, ...]]] = {}
        self._seconds: list[int] = []  # heap of the keys of _later

    def _defer(self, entry: tuple[Any, ...]) -> None:
        """File an entry at or after ``_edge`` under its second."""
        b = math.floor(entry[0] / BUCKET_S)
        waiting = self._later.get(b)
        if waiting is None:
            self._later[b] = [entry]
            heappush(self._seconds, b)
        else:
            waiting.append(entry)

    def _advance(self) -> bool:
        """The heap is empty: bring in the next second's entries (False: none).
        The same list object stays ``_queue``, so a loop holding it stays right."""
        if not self._seconds:
            return False
        b = heappop(self._seconds)
        q = self._queue
        q.extend(self._later.pop(b))
        heapify(q)
        self._edge = (b + 1) * BUCKET_S
        return True

    def schedule(self, event: Any, priority: int = NORMAL, delay: float = 0) -> None:
        self._file((self._now + delay, priority, next(self._eid), event))

    def _file(self, entry: tuple[Any, ...]) -> None:
        """Queue an entry, an event's or a call's: in the heap or under its second."""
        if entry[0] < self._edge:
            heappush(self._queue, entry)
        else:
            self._defer(entry)

    def peek(self) -> float:
        if not self._queue and not self._advance():
            return Infinity
        return self._queue[0][0]

    def step(self) -> None:
        q = self._queue
        if not q and not self._advance():
            raise EmptySchedule
        if len(q[0]) == 5:  # a call (module text): made here, no event to process
            self._now, _, _, fn, args = heappop(q)
            fn(*args)
            return
        super().step()

    @property
    def pending(self) -> int:
        """Entries waiting, in the heap and by second."""
        return len(self._queue) + sum(map(len, self._later.values()))


def later(env: Clock, delay: float, fn: Any, *args: Any) -> None:
    """Call ``fn(*args)`` ``delay`` seconds from now on ``env``'s clock."""
    if delay < 0:
        raise ValueError(f"later: negative delay {delay}")
    # Clock._file and Clock._defer, inlined: the call of every driver step.
    t = env._now + delay
    entry = (t, NORMAL, next(env._eid), fn, args)
    if t < env._edge:
        heappush(env._queue, entry)
        return
    b = math.floor(t / BUCKET_S)
    waiting = env._later.get(b)
    if waiting is None:
        env._later[b] = [entry]
        heappush(env._seconds, b)
    else:
        waiting.append(entry)


def spawn(env: Clock, process: Any) -> None:
    """Run ``process``, a generator yielding delays in seconds, on ``env``'s clock.

    ``env.process(gen)`` for a generator that only ever waits
    (``yield env.timeout(d)`` there, ``yield d`` here), at the cost of one
    call per wait: no Process, Timeout or Initialize event, no callback walk.
    It starts as a Process does (an urgent event now) and each wait is
    scheduled where the Timeout would have been made, so the order is SimPy's.
    """
    env._file((env._now, URGENT, next(env._eid), _resume, (env, process)))


def _resume(env: Clock, process: Any) -> None:
    try:
        delay = next(process)
    except StopIteration:
        return
    later(env, delay, _resume, env, process)


def run_until(env: Clock, until: float) -> None:
    """``env.run(until=until)``, making calls without a method call each."""
    if until <= env._now:
        raise ValueError(f"run_until: until ({until}) must be greater than the current time")
    q = env._queue  # the same list for the clock's life (Clock._advance)
    step = env.step
    advance = env._advance
    while q or advance():
        head = q[0]
        t = head[0]
        if t > until or (t == until and head[1] != URGENT):
            break
        if len(head) == 5:  # a call
            heappop(q)
            env._now = t
            head[3](*head[4])
        else:
            step()
    env._now = until
