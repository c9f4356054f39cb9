"""What the person holding a load-test device does.

Theory of operation: the person is the one person model
(:func:`bench.scenario.people.workday`) with :func:`load_behaviour`: the
field worker's act weights without minimize, close or create (a load test
measures the server under the cadence, so nobody minimizes the app away, and
jobs come from the dispatcher), acts at exponential intervals (mean
``act_mean_s`` spec seconds: "a dozen acts an hour"), photos of one size.
:class:`Person` keeps what only a load run needs: the photo bytes until they
are uploaded, and the edits a storm profile makes while the device is
offline (``OUTAGE_ACTS``). Randomness comes from the injected
``random.Random``; the time from the caller's ``now``.
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any

from bench.draw import weighted
from bench.scenario.model import Dist
from bench.scenario.people import JOB_FLOW, PRESETS, Behaviour
from reference_client import ManualSync, UserEdit

# The field worker's weights (bench.scenario.people, the one person model)
# without minimize/close/create: in a load test the app stays open and jobs
# come from the dispatcher. Not renormalised: the pick scales by the sum.
ACT_WEIGHTS: tuple[tuple[str, float], ...] = tuple(
    (act, w) for act, w in PRESETS["field_worker"].weights if act in ("status", "text", "photo", "manual"))
# The person's job flow ("Started, En route, Paused or Finished"), except that
# a finished job starts over so a long run keeps editing.
STATUS_FLOW = {**{k: v for k, v in JOB_FLOW.items() if k != "paused"}, "finished": "en_route"}
# Edits made during a storm's outage: the ones a worker records on a job
# without coverage (status and a note; photos go up with the normal acts).
OUTAGE_ACTS = ("status", "text")


def photo_bytes(rng: random.Random, nbytes: int) -> tuple[bytes, str]:
    """``nbytes`` of photo-like content and its sha256 (a random 4 KiB block repeated:
    cheap for the generator, and the server still stores and hashes every byte)."""
    block = rng.randbytes(4096)
    data = (block * (nbytes // len(block) + 1))[:nbytes]
    return data, hashlib.sha256(data).hexdigest()


def load_behaviour(act_mean_s: float, photo_size: int, spread_s: float) -> Behaviour:
    """The load test's person: the field worker's acts without minimize, close or
    create (the app stays open all run, jobs come from the dispatcher), photos
    of one size, the opens spread over ``spread_s``."""
    return Behaviour(name="load_worker", act_mean_s=act_mean_s, shift_s=math.inf,
                     weights=ACT_WEIGHTS, photo_bytes=Dist(kind="const", a=float(photo_size)),
                     start_spread_s=spread_s)


class Person:
    """One device's user; ``act`` returns the engine input for the next act (or None)."""

    __slots__ = ("rng", "photo_size", "stages", "n_notes", "photos")

    def __init__(self, *, rng: random.Random, photo_size: int) -> None:
        self.rng = rng
        self.photo_size = photo_size
        self.stages: dict[str, str | None] = {}
        self.n_notes = 0
        self.photos: dict[str, bytes] = {}  # sha256 -> content, until uploaded

    def act(self, now: float, records: dict[str, Any], kinds: tuple[str, ...] | None = None
            ) -> UserEdit | ManualSync | None:
        kind = self._pick(kinds)
        if kind == "manual":
            return ManualSync(now=now)
        jobs = sorted(records)
        if not jobs:
            return None
        job = jobs[int(self.rng.random() * len(jobs))]
        if kind == "status":
            nxt = STATUS_FLOW[self.stages.get(job)]
            self.stages[job] = nxt
            return UserEdit(now=now, record=job, kind="status", status=nxt)
        if kind == "text":
            self.n_notes += 1
            return UserEdit(now=now, record=job, kind="text",
                            fields={"notes": f"note {self.n_notes} at {now:.0f}"})
        data, sha = photo_bytes(self.rng, self.photo_size)
        self.photos[sha] = data
        return UserEdit(now=now, record=job, kind="photo", bytes=len(data), sha256=sha)

    def _pick(self, kinds: tuple[str, ...] | None) -> str:
        if kinds:
            return kinds[int(self.rng.random() * len(kinds))]
        return weighted(ACT_WEIGHTS, self.rng)
