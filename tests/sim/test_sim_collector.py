"""The cyclic collector while a fleet's clock runs: off, then as it was."""

from __future__ import annotations

import gc

import pytest
from sim_helpers import scenario

from bench.collector import held
from bench.sim import Fleet

DAY = """
name: gc
policy: planado
seed: 3
duration: 20m
settle: 2m
fleet: {size: 3, link: wifi, mobility: urban, behaviour: field_worker}
"""


def test_the_clock_runs_without_automatic_passes_and_leaves_the_collector_as_it_was():
    before = (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count())
    fleet = Fleet(scenario(DAY))
    seen = []
    fleet.later(60.0, lambda: seen.append(gc.isenabled()))
    result = fleet.run()
    assert seen == [False]
    assert (gc.isenabled(), gc.get_threshold(), gc.get_freeze_count()) == before
    assert result.metrics["events"] > 0


def test_a_fleet_makes_no_cyclic_garbage_while_it_runs():
    # What leaves the passes off safe: nothing a day of the fleet drops is a
    # cycle only the collector could free (the fleet itself is one, once dropped).
    fleet = Fleet(scenario(DAY))
    gc.collect()
    fleet.run()
    assert gc.collect() == 0
    del fleet


def test_held_off_restores_a_collector_that_was_off():
    gc.disable()
    try:
        with held(off=True):
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
    with held(off=True):
        assert not gc.isenabled()
    assert gc.isenabled()


def test_held_off_restores_on_error():
    with pytest.raises(RuntimeError), held(off=True, young=10**6):
        raise RuntimeError("boom")
    assert gc.isenabled() and gc.get_threshold()[0] < 10**6


@pytest.mark.parametrize("promote", [True, False])
def test_held_promote_moves_what_the_work_kept_to_the_oldest_generation(promote):
    """With promote, what a block with passes off kept is spliced into the oldest
    generation on the way out (no pass walks it); without, it waits young."""
    with held(freeze=True, off=True, promote=promote):
        kept = [[] for _ in range(100)]
    oldest = any(o is kept for o in gc.get_objects(generation=2))
    assert oldest is promote
