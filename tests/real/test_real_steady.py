"""The collector held still while a real run plays (bench.real.steady)."""

from __future__ import annotations

import gc

import pytest

from bench.real.steady import PLAY_FULL_GC_EVERY, steady_gc


def test_steady_gc_freezes_and_holds_full_passes_then_restores() -> None:
    saved = gc.get_threshold()
    with steady_gc():
        assert gc.get_freeze_count() > 0  # what existed before is out of the passes' sight
        assert gc.get_threshold() == (saved[0], saved[1], max(saved[2], PLAY_FULL_GC_EVERY))
    assert gc.get_threshold() == saved and gc.get_freeze_count() == 0


def test_steady_gc_restores_after_a_failure_and_frees_the_runs_cycles() -> None:
    saved = gc.get_threshold()
    freed: list[str] = []

    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

        def __del__(self) -> None:
            freed.append("node")

    with pytest.raises(RuntimeError), steady_gc():
        Node()
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == saved and gc.get_freeze_count() == 0
    assert freed == ["node"]  # the collection after the play found it
