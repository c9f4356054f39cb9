"""Splitting one fleet into independent shards.

Theory of operation: a shard is a fleet of its own -- its devices, its share
of the server's workers, its own dispatcher and push service -- run in its own
process (or on a Dask worker) and merged afterwards (:mod:`bench.sim.shards`).
Shards share nothing while they run, so the split must leave nothing that
crosses it:

- Every device lives in exactly one shard. Explicit devices and every device
  an explicit ``dispatch:`` step names go to shard 1, which also replays those
  steps, so a scripted reassignment never spans two shards.
- The server's ``workers`` are dealt out as evenly as they go (10 over 3:
  4, 3, 3), and each shard gets devices in proportion to its workers, so every
  shard's queue runs at the fleet's utilisation. A shard needs one worker at
  least: ``--shards`` above ``server.workers`` is refused.
- The random dispatcher of a shard works on that shard's devices at the
  scenario's per-device rates, so the fleet's dispatcher load is the sum;
  the ids it makes end in the shard's tag from shard 2 on (``job-3.s2``), so
  no two shards name the same record and shard 1 names them as an unsharded
  run does (a script's ``job-1`` edit still finds its job).
- A device's own random stream is seeded from ``(seed, device id)`` whatever
  its shard, so its day is the one it has unsharded; the queue's, the push
  service's and the dispatcher's streams are one per shard.

What this changes is queueing: c workers pooled behind one queue wait less
than N queues of c/N workers at the same load (a request never waits while
another shard's worker idles). docs/simulation.md gives the size of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.scenario.fleet import device_specs
from bench.scenario.model import Scenario

# Shards of one run. Past the machine's cores they queue; past this they are
# a typo (each shard is a process and a trace part).
MAX_SHARDS = 256


class ShardError(ValueError):
    """A fleet that cannot be split as asked, or a shard that failed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Shard:
    index: int  # 0-based; shown 1-based
    count: int
    devices: frozenset[str]
    workers: int

    @property
    def tag(self) -> str:
        """The suffix of the ids this shard's dispatcher makes: none in shard 1
        (so a script's ``job-1`` means what it means unsharded), ``.s2``... after."""
        return f".s{self.index + 1}" if self.index > 0 else ""

    @property
    def name(self) -> str:
        return f"shard {self.index + 1} of {self.count}"

    def stream(self, seed: int, what: str) -> str:
        """The seed string of a shard-wide random stream (queue, push, dispatcher)."""
        return f"{seed}/{what}" if self.count == 1 else f"{seed}/{what}/s{self.index + 1}"


def partition(sc: Scenario, count: int, *, flag: str = "--shards") -> list[Shard]:
    """``count`` shards of ``sc``'s fleet; raises :class:`ShardError` naming ``flag``."""
    if not 1 <= count <= MAX_SHARDS:
        raise ShardError(f"{flag}: {count} is outside 1..{MAX_SHARDS}")
    ids = [spec.id for spec in device_specs(sc)]
    workers = sc.server.workers
    if count > workers:
        raise ShardError(f"{flag}: {count} shards but server.workers is {workers}: each shard "
                         f"needs a worker of its own (raise server.workers or lower {flag})")
    if count > len(ids):
        raise ShardError(f"{flag}: {count} shards for {len(ids)} devices: each shard needs a device")
    # Shard 1 keeps what a script ties together: explicit devices, dispatch assignees.
    pinned = {d.id for d in sc.devices} | {s.assignee for s in sc.dispatch if s.assignee}
    order = [i for i in ids if i in pinned] + [i for i in ids if i not in pinned]
    base, extra = divmod(workers, count)
    shares = [base + (1 if i < extra else 0) for i in range(count)]
    n_pinned = sum(1 for i in ids if i in pinned)
    shards, lo, cum = [], 0, 0
    for i, w in enumerate(shares):
        cum += w
        hi = len(order) if i == count - 1 else round(len(order) * cum / workers)
        if i == 0:
            hi = max(hi, n_pinned)
        hi = max(hi, lo + 1)  # never empty (count <= devices)
        hi = min(hi, len(order) - (count - 1 - i))  # leave one for each shard after
        shards.append(Shard(index=i, count=count, devices=frozenset(order[lo:hi]), workers=w))
        lo = hi
    return shards
