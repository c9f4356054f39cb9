"""People: the field worker with the phone, and the dispatcher at the web app.

Theory of operation: each device with a behaviour preset runs one SimPy
process, :func:`worker`: the person opens the app at the start of the shift,
then acts at exponential intervals (mean ``act_mean_s``) by the weights of the
preset -- minimize (the next act is restoring it), close (the next act reopens
it), move a job along ``en_route -> started -> (paused -> started) ->
finished`` (status edits), write report text, take a photo (size from
``photo_bytes``), create a record (PlayMaker: a new account or call note), or
pull to refresh (``manual``). Edits are made in the foreground only, on the
records the phone holds. After ``shift_s`` the app is closed until the next
day.

Explicit ``steps`` (:func:`steps`) replay a scenario's timeline exactly; the
dispatcher (:func:`dispatcher`) creates, edits, changes and attaches to jobs
at per-device rates, and :func:`dispatch_steps` replays explicit operations.
Everything stops when the settle window begins (``fleet.settling``).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from bench.draw import weighted
from bench.scenario.dispatch import dispatcher_draws
from bench.scenario.model import DispatchStep, Dist, Step
from bench.sim.ports import SimDevice, SimFleet

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

    def pick(self, rng: Any) -> str:
        return weighted(self.weights, rng)


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


def worker(device: SimDevice, b: Behaviour, rng: Any) -> Generator[Any, Any, None]:
    """SimPy process: one person using ``device`` by preset ``b``."""
    env = device.env
    stages: dict[str, str | None] = {}
    n_new = 0
    yield env.timeout(rng.uniform(0.0, b.start_spread_s))
    while not device.stopped:
        shift_end = env.now + b.shift_s
        device.app("opened")
        while not device.stopped:
            yield env.timeout(rng.expovariate(1.0 / b.act_mean_s))
            if device.stopped:
                return
            if env.now >= shift_end:
                break
            state = device.engine.app
            if state == "closed":
                device.app("opened")
                continue
            if state == "background":
                device.app("restored")
                continue
            act = b.pick(rng)
            if act == "minimize":
                device.app("minimized")
            elif act == "close":
                device.app("closed")
            elif act == "manual":
                device.manual("pull")
            elif act == "create":
                n_new += 1
                device.edit(f"{device.id}-r{n_new}", "text", text="new record")
            elif act in ("status", "text", "photo"):
                job = _pick_job(device, stages, rng)
                if job is None:
                    continue
                if act == "status":
                    nxt = JOB_FLOW.get(stages.get(job))
                    if nxt == "finished" and rng.random() < PAUSE_P:
                        nxt = "paused"
                    if nxt is None:
                        continue
                    stages[job] = nxt
                    device.edit(job, "status", status=nxt)
                elif act == "text":
                    device.edit(job, "text")
                else:
                    device.edit(job, "photo", nbytes=int(b.photo_bytes.sample(rng)))
        if device.stopped:
            return
        if device.engine.app != "closed":
            device.app("closed")
        yield env.timeout(max(0.0, DAY_S - b.shift_s))


def _pick_job(device: SimDevice, stages: dict[str, str | None], rng: Any) -> str | None:
    records = device.engine.store.records
    open_jobs = [rid for rid, r in records.items()
                 if r.version is not None and stages.get(rid) != "finished"]
    if not open_jobs:
        return None
    return open_jobs[int(rng.random() * len(open_jobs))]


def steps(device: SimDevice, timeline: tuple[Step, ...]) -> Generator[Any, Any, None]:
    """SimPy process: replay explicit steps at their times."""
    env = device.env
    for s in timeline:
        if s.t > env.now:
            yield env.timeout(s.t - env.now)
        if device.stopped:
            return
        k = s.kind
        if k == "link":
            device.set_link(s.value)
        elif k == "app":
            device.app(s.value)
        elif k == "edit":
            device.edit(s.record or f"{device.id}-r0", s.value, status=s.status,
                        nbytes=s.bytes, text=s.text)
        elif k == "manual":
            device.manual(s.value or None)
        elif k == "snapshot":
            device.snapshot()


def dispatch_steps(fleet: SimFleet, timeline: tuple[DispatchStep, ...]) -> Generator[Any, Any, None]:
    env = fleet.env
    for d in timeline:
        if d.t > env.now:
            yield env.timeout(d.t - env.now)
        if fleet.settling:
            return
        fleet.dispatch(d.op, d.record, d.assignee, status=d.status, file=d.file, nbytes=d.bytes)


def dispatcher(fleet: SimFleet, rng: Any) -> Generator[Any, Any, None]:
    """SimPy process: random dispatcher work at the scenario's per-device rates
    (the draws: bench.scenario.dispatch, shared with real runs)."""
    env = fleet.env
    scope = fleet.server.scope
    for draw in dispatcher_draws(fleet.scenario.dispatcher, fleet.behaving, rng,
                                 lambda dev: scope.get(dev, ())):
        if draw[0] == "wait":
            yield env.timeout(draw[1])
            if fleet.settling:
                return
            continue
        _, op, record, dev, fields = draw
        if op == "edit":
            fields = {"fields": {"notes": f"edited at {env.now:.0f}"}}
        fleet.dispatch(op, record, dev, **fields)
