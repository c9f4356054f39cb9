"""The collector held still while a real run plays.

Theory of operation: a real run's timing is wall time, and at K = 60 every
wall millisecond the event loop stands still reads as 60 spec milliseconds
of a transfer or a timer. CPython's cyclic collector stops the loop for its
passes: in the runner of a 2-device run, full passes of 39 and 64 ms and
young passes of up to 9 ms (measured with ``gc.callbacks`` on
scenarios/real/planado-pair.yaml) -- each a transfer missing its target by
more than the tolerance. So while the clock runs:

- everything built before the play (imports, plans, the server and proxy
  handles) is frozen out of the collector's sight (``gc.freeze``): its
  passes walk only what the play made since;
- full passes wait for the end (young passes still run, so short-lived
  cycles are still freed); a run is minutes of wall time, bounded by the
  scenario limits, and what it makes is freed by reference counting;
- both are restored after, and one collection frees what the run left.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from bench.collector import held

# The full-collection threshold while playing: passes of the oldest
# generation after this many young-generation passes (CPython's default: 10).
PLAY_FULL_GC_EVERY = 1_000_000


def steady_gc() -> AbstractContextManager[None]:
    """Freeze the heap built so far and hold full collections back while inside."""
    return held(full=PLAY_FULL_GC_EVERY, freeze=True, collect=True)
