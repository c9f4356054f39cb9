"""bench.sim.calls: a delayed call orders exactly as a SimPy timeout would."""

import pytest
import simpy

from bench.sim.calls import later


def test_calls_and_timeouts_fire_in_time_then_scheduling_order():
    env = simpy.Environment()
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
    env = simpy.Environment()
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
        later(simpy.Environment(), -1.0, print)


def test_run_until_orders_as_environment_run():
    """run_until makes calls itself; the order, the clock and what waits at the
    boundary (normal-priority events at `until` go to the next run) are SimPy's."""
    from bench.sim.calls import run_until

    def scenario(run):
        env = simpy.Environment()
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

    env = simpy.Environment(initial_time=3.0)
    with pytest.raises(ValueError, match="must be greater"):
        run_until(env, 3.0)


def test_a_light_process_orders_as_a_simpy_process():
    """spawn(env, gen) with `yield d` runs as env.process with `yield env.timeout(d)`:
    the same start (an urgent event now) and each wait scheduled where the Timeout
    was made, so calls and other processes interleave in the same order."""
    from bench.sim.calls import run_until, spawn

    def scenario(light: bool):
        env = simpy.Environment()
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

    env = simpy.Environment()
    seen = []

    def short():
        yield 1.0
        seen.append(env.now)

    spawn(env, short())
    run_until(env, 5.0)
    assert seen == [1.0] and not env._queue
