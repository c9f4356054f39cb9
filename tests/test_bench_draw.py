"""The one weighted pick (bench.draw): one draw, proportional to the weights."""

from __future__ import annotations

import random

import pytest

from bench.draw import weighted


def test_follows_the_weights_with_one_draw_each():
    rng = random.Random(1)
    n = 20_000
    got = [weighted((("a", 1), ("b", 3)), rng) for _ in range(n)]
    assert got.count("b") / n == pytest.approx(0.75, abs=0.015)
    a, b = random.Random(7), random.Random(7)
    weighted([("x", 1), ("y", 1)], a)
    b.random()
    assert a.random() == b.random()  # exactly one draw consumed


def test_zero_weights_are_never_picked_and_the_edge_is_the_last():
    class Top:
        def random(self):
            return 1.0  # the rounding edge: x == total

    assert {weighted((("a", 0), ("b", 1), ("c", 0.0)), random.Random(i)) for i in range(200)} == {"b"}
    assert weighted((("a", 1), ("b", 1)), Top()) == "b"
    assert weighted(iter([("a", 2)]), random.Random(1)) == "a"
