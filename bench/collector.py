"""The cyclic collector held back for a stretch of work, then restored.

Three places want it, for their own reasons (each says why where it is used):
the checker's batch (``bench.rules.checker``: full passes over a growing
state), the fleet simulator's clock (``bench.sim.fleet``: young passes that
find nothing) and a real run's play (``bench.real.steady``: pauses that read
as link time). Thresholds only ever rise inside, and every change is undone
on the way out, error or not.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def held(*, young: int = 0, full: int = 0, freeze: bool = False,
         collect: bool = False, off: bool = False, promote: bool = False) -> Iterator[None]:
    """Young passes at least every ``young`` allocations, full passes at least
    every ``full`` young ones; ``freeze``: what exists now is out of the passes'
    sight; ``collect``: a full collection before (so less is frozen) and after;
    ``off``: no automatic pass at all inside (for work that makes no cycles);
    ``promote`` (with ``freeze``): what the work made and kept joins the oldest
    generation on the way out, as what was frozen does, instead of waiting in
    the young one for a pass that walks it all (with ``off``, everything the
    work kept is young: a 10,000-device day's first young and middle passes
    after its clock took 1.4 s and found nothing)."""
    saved = gc.get_threshold()
    was_on = gc.isenabled()
    if collect:
        gc.collect()
    if freeze:
        gc.freeze()
    gc.set_threshold(max(saved[0], young), saved[1], max(saved[2], full))
    if off:
        gc.disable()
    try:
        yield
    finally:
        if freeze and promote:
            # The young and middle generations spliced in, no walk: before the
            # collector is on again, so no pass can start on them first.
            gc.freeze()
        if off and was_on:
            gc.enable()
        gc.set_threshold(*saved)
        if freeze:
            gc.unfreeze()
        if collect:
            gc.collect()
