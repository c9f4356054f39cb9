"""The bench's one weighted pick.

Theory of operation: every weighted choice of the bench (a device's mobility
and behaviour from a fleet's mixes, a person's next act, a load device's link
class, a mobility chain's next profile) is one uniform draw scanned over the
weights in their given order. One function, so the same seed makes the same
choice wherever the choice is made: the simulator, the real runner and the
load users draw one day.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def weighted(pairs: Iterable[tuple[T, float]], rng: Any, total: float | None = None) -> T:
    """One of ``pairs``' names, with chance proportional to its weight.

    ``rng`` is anything with ``random()`` (``random.Random``, the simulator's
    per-device streams). Exactly one draw is consumed; weights need not sum
    to 1. The last name answers the rounding edge ``x == total``. ``total``:
    ``sum`` of the weights in their order, when the caller keeps it (a
    person's next act, a mobility chain's next profile: summed once, not at
    every pick).
    """
    items = pairs if isinstance(pairs, list | tuple) else list(pairs)
    if total is None:
        total = sum(w for _, w in items)
    x = rng.random() * total
    for name, w in items:
        x -= w
        if x < 0:
            return name
    return items[-1][0]
