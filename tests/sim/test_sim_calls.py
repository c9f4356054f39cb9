"""bench.sim.calls: a delayed call orders exactly as a SimPy timeout would."""

import pytest
import simpy

from bench.sim.calls import Clock, later


def test_calls_and_timeouts_fire_in_time_then_scheduling_order():
    env = Clock()
    seen = []

    def proc(env, name, delay):
        yield env.timeout(delay)
        seen.append((env.now, name))

    later(env, 2.0, seen.append, (2.0, "call-a"))
    env.process(proc(env, "timeout-b", 1.0))
    later(env, 1.0, lambda: seen.append((env.now, "call-c")))
    later(env, 0.0, seen.append, (0.0, "call-d"))
    env.run()
    # The process's timeout is scheduled when the process starts (after the
    # calls made before env.run), so at t=1 call-c comes first.
    assert seen == [(0.0, "call-d"), (1.0, "call-c"), (1.0, "timeout-b"), (2.0, "call-a")]
    assert env.now == 2.0


def test_a_call_runs_at_its_time_and_can_schedule_more():
    env = Clock()
    times = []

    def tick(n):
        times.append(env.now)
        if n:
            later(env, 0.5, tick, n - 1)

    later(env, 1.0, tick, 3)
    env.run(until=10)
    assert times == [1.0, 1.5, 2.0, 2.5]


def test_negative_delay_is_refused():
    with pytest.raises(ValueError, match="negative delay"):
        later(Clock(), -1.0, print)


def test_run_until_orders_as_environment_run():
    """run_until makes calls itself; the order, the clock and what waits at the
    boundary (normal-priority events at `until` go to the next run) are SimPy's."""
    from bench.sim.calls import run_until

    def scenario(run):
        env = Clock()
        seen = []

        def proc(env):
            for _ in range(3):
                yield env.timeout(1.0)
                seen.append((env.now, "timeout"))
                later(env, 0.0, seen.append, (env.now, "call-after-timeout"))

        env.process(proc(env))
        later(env, 1.0, seen.append, (1.0, "call-1"))
        later(env, 2.0, seen.append, (2.0, "call-at-boundary"))
        run(env, 2.0)
        first = list(seen)
        run(env, 5.0)
        return first, seen, env.now

    def simpy_run(env, until):
        env.run(until=until)

    assert scenario(run_until) == scenario(simpy_run)
    first, _, now = scenario(run_until)
    assert (2.0, "call-at-boundary") not in first and now == 5.0


def test_run_until_refuses_a_time_not_ahead():
    from bench.sim.calls import run_until

    env = Clock(initial_time=3.0)
    with pytest.raises(ValueError, match="must be greater"):
        run_until(env, 3.0)


def test_a_light_process_orders_as_a_simpy_process():
    """spawn(env, gen) with `yield d` runs as env.process with `yield env.timeout(d)`:
    the same start (an urgent event now) and each wait scheduled where the Timeout
    was made, so calls and other processes interleave in the same order."""
    from bench.sim.calls import run_until, spawn

    def scenario(light: bool):
        env = Clock()
        seen = []

        def body(name, waits):
            for d in waits:
                yield d
                seen.append((env.now, name))
                later(env, 0.0, seen.append, (env.now, f"{name}-after"))

        def as_simpy(gen):
            for d in gen:
                yield env.timeout(d)

        later(env, 0.0, seen.append, (0.0, "call-0"))
        for name, waits in (("a", [1.0, 0.0, 2.0]), ("b", [1.0, 1.0, 1.0])):
            if light:
                spawn(env, body(name, waits))
            else:
                env.process(as_simpy(body(name, waits)))
        later(env, 1.0, seen.append, (1.0, "call-1"))
        run_until(env, 10.0)
        return seen

    assert scenario(light=True) == scenario(light=False)


def test_a_light_process_that_returns_ends_quietly():
    from bench.sim.calls import run_until, spawn

    env = Clock()
    seen = []

    def short():
        yield 1.0
        seen.append(env.now)

    spawn(env, short())
    run_until(env, 5.0)
    assert seen == [1.0] and not env._queue


def _busy_day(env, use_calls: bool, seed: int):
    """A random web of delayed calls (or, on plain SimPy, timeouts): delays of
    0, a hair, exactly to the next whole second, within the second, minutes and
    hours, so entries fall in the heap, on a second's edge and far ahead."""
    import random

    rnd = random.Random(seed)
    seen = []

    def delay():
        k = rnd.randrange(7)
        if k == 0:
            return 0.0
        if k == 1:
            return 1e-9
        if k == 2:
            return float(int(env.now) + 1) - env.now  # to the next second's edge
        if k == 3:
            return rnd.uniform(0.0, 1.0)
        if k == 4:
            return 120.0
        if k == 5:
            return rnd.uniform(100.0, 5000.0)
        return float(rnd.randrange(4))

    def fire(name):
        seen.append((env.now, name))
        if len(seen) < 3000:
            for i in range(rnd.choice((0, 1, 1, 2))):
                schedule(delay(), f"{name}.{i}")

    def schedule(d, name):
        if use_calls:
            later(env, d, fire, name)
        else:
            env.timeout(d).callbacks.append(lambda _ev, name=name: fire(name))

    for i in range(40):
        schedule(delay(), str(i))
    return seen


@pytest.mark.parametrize("seed", range(6))
def test_the_calendar_clock_orders_every_entry_as_one_heap(seed):
    """Clock (a heap for the current second, a list per later second) fires a
    random web of calls in the order plain SimPy fires the same timeouts:
    time, then priority, then the order scheduled -- across seconds' edges,
    run boundaries and a peek that brings a second in early."""
    from bench.sim.calls import run_until

    clock, plain = Clock(), simpy.Environment()
    a, b = _busy_day(clock, True, seed), _busy_day(plain, False, seed)
    for until in (0.5, 1.0, 7.0, 130.0, 2000.0, 9000.0):
        run_until(clock, until)
        plain.run(until=until)
        # A peek may bring the next second into the heap before its time.
        assert until <= clock.peek() < simpy.core.Infinity
    clock.run()
    plain.run()
    assert a == b and len(a) >= 1000
    assert clock.pending == 0 and clock.peek() == simpy.core.Infinity


def test_the_calendar_clock_keeps_only_the_current_second_in_its_heap():
    env = Clock()
    for d in (0.2, 0.7, 1.0, 1.5, 120.0, 120.25, 3600.0):
        later(env, d, print)
    assert sorted(e[0] for e in env._queue) == [0.2, 0.7]
    assert env.pending == 7
    from bench.sim.calls import run_until

    run_until(env, 1.2)
    assert sorted(e[0] for e in env._queue) == [1.5]  # second 1 came in; 1.0 has fired


def test_a_clock_that_starts_late_files_its_entries_from_there():
    env = Clock(initial_time=7.5)
    seen = []
    later(env, 0.25, seen.append, "a")
    later(env, 0.5, seen.append, "b")  # exactly on the edge (8.0): the next second
    env.timeout(0.1).callbacks.append(lambda _ev: seen.append("t"))
    env.run()
    assert seen == ["t", "a", "b"] and env.now == 8.0
