"""A person's working day, drawn from the seed with no clock: one model for every driver.

Theory of operation: :func:`workday` is a generator of what the person with
the phone does, as plain tuples, in spec time::

    ("at", t)                         wait until spec time t
    ("app", state)                    opened / minimized / restored / closed
    ("manual", via)                   pull to refresh
    ("edit", record, kind, status, text, nbytes)

It opens the app at the start of the shift, then acts at exponential gaps
(mean ``act_mean_s``) by the preset's weights: minimize (the next act
restores it), close (the next act reopens it), move a job along ``en_route ->
started -> (paused -> started) -> finished``, write report text, take a photo
(``photo_bytes``), create a record, or pull. Edits are made in the foreground,
on the records the phone holds, which the generator reads from ``view`` after
each wait (``view.app``: the app state; ``view.jobs()``: the ids of the records
the device holds, sorted). After ``shift_s`` the app closes until the next day.

The drivers are thin clock loops over it: the simulator's SimPy process
(``bench.sim.people.worker``), the real runner's coroutine
(``bench.real.people.worker``) and the Locust device
(``bench.load.device.LoadDevice``, with a preset that keeps the app open). A driver that stops (the settle window, the
end of the run) simply stops asking. Same preset, seed and device state, same
acts, in either mode.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Protocol

from bench.draw import weighted
from bench.scenario.model import Dist

DAY_S = 86400.0
# Planado job statuses named in the help article ("Started, En route, Paused or Finished").
JOB_FLOW = {None: "en_route", "en_route": "started", "started": "finished", "paused": "started"}
PAUSE_P = 0.2  # a started job is paused instead of finished this often


@dataclass(frozen=True, slots=True, kw_only=True)
class Behaviour:
    name: str
    act_mean_s: float
    shift_s: float
    weights: tuple[tuple[str, float], ...]
    # A job photo as field apps upload it: resized to about 1280 px before
    # upload, some 400 KB JPEG median with a long tail, capped at 3 MB.
    photo_bytes: Dist = Dist(kind="lognormal", a=400_000, b=0.5, cap=3_000_000)
    start_spread_s: float = 300.0  # shifts start within five minutes of each other
    # The weights' sum, once (bench.draw.weighted's ``total``).
    total: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(w for _, w in self.weights))

    def pick(self, rng: Any) -> str:
        return weighted(self.weights, rng, self.total)


PRESETS: dict[str, Behaviour] = {
    # Planado field worker: a 9-hour shift, a dozen acts an hour.
    "field_worker": Behaviour(name="field_worker", act_mean_s=300.0, shift_s=9 * 3600.0,
                              weights=(("minimize", 0.18), ("close", 0.02), ("status", 0.3),
                                       ("text", 0.25), ("photo", 0.12), ("manual", 0.08),
                                       ("create", 0.05))),
    # PlayMaker sales rep: creates accounts and call notes, pulls by hand.
    "sales_rep": Behaviour(name="sales_rep", act_mean_s=400.0, shift_s=9 * 3600.0,
                           weights=(("create", 0.35), ("text", 0.25), ("manual", 0.15),
                                    ("minimize", 0.15), ("close", 0.05), ("status", 0.05))),
    # Keeps the app open and does nothing: the timer alone.
    "idle": Behaviour(name="idle", act_mean_s=3600.0, shift_s=DAY_S, weights=(("none", 1.0),)),
}


class PhoneView(Protocol):
    """What the person sees of the phone."""

    app: str

    def jobs(self) -> list[str]: ...


Op = tuple[Any, ...]


def workday(dev_id: str, b: Behaviour, rng: Any, view: PhoneView,
            note: Callable[[float], str] = lambda t: f"note at {t:.0f}",
            start: float = 0.0) -> Generator[Op, None, None]:
    """The acts of preset ``b`` on device ``dev_id`` from spec time ``start``, forever
    (the driver stops)."""
    stages: dict[str, str | None] = {}
    n_new = 0
    t = start + rng.uniform(0.0, b.start_spread_s)
    while True:
        yield ("at", t)
        shift_end = t + b.shift_s
        yield ("app", "opened")
        while True:
            t += rng.expovariate(1.0 / b.act_mean_s)
            yield ("at", t)
            if t >= shift_end:
                break
            state = view.app
            if state == "closed":
                yield ("app", "opened")
                continue
            if state == "background":
                yield ("app", "restored")
                continue
            act = b.pick(rng)
            if act == "minimize":
                yield ("app", "minimized")
            elif act == "close":
                yield ("app", "closed")
            elif act == "manual":
                yield ("manual", "pull")
            elif act == "create":
                n_new += 1
                yield ("edit", f"{dev_id}-r{n_new}", "text", None, "new record", None)
            elif act in ("status", "text", "photo"):
                jobs = [j for j in view.jobs() if stages.get(j) != "finished"]
                if not jobs:
                    continue
                job = jobs[int(rng.random() * len(jobs))]
                if act == "status":
                    nxt = JOB_FLOW.get(stages.get(job))
                    if nxt == "finished" and rng.random() < PAUSE_P:
                        nxt = "paused"
                    if nxt is None:
                        continue
                    stages[job] = nxt
                    yield ("edit", job, "status", nxt, None, None)
                elif act == "text":
                    yield ("edit", job, "text", None, note(t), None)
                else:
                    yield ("edit", job, "photo", None, None, max(1, int(b.photo_bytes.sample(rng))))
        if view.app != "closed":
            yield ("app", "closed")
        t = shift_end + max(0.0, DAY_S - b.shift_s)
