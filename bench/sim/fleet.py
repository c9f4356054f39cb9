"""The fleet: devices, server, push service and people in one SimPy run.

Theory of operation::

    Scenario ──> Fleet ──> SimPy env ──────────────────────────────────┐
                  │ devices (engine + driver), one process per person, │
                  │ a mobility/steps process per device, dispatcher    │
                  v                                                    │
               emit(ev) = the batch's append; the clock's flush ──>    │
                   Checker.feed_many(batch)   (every rule, online)     │
                   TraceWriter.write          (only when asked)        │
                                                                       v
    [0, duration): people act, links move   [duration, +settle): every phone
    on ``settle_link``, app running, no new work; halfway a pull to refresh;
    at the end a ``snapshot``/``srv_snapshot`` per device  ──> results

Events are emitted at the simulation clock, which never goes back, so the
trace is in non-decreasing ``t`` with no sorting. Randomness: one
small generator per device (:mod:`bench.scenario.rng`) seeded from ``(seed, device id)`` (so adding a
device leaves the others' days unchanged) and one each for the server queue,
the push service and the dispatcher. Same seed, same trace, byte for byte.

The hot path is ``emit``, a list's append; every second or so of simulated
time (``_flush_every``) the batch's ``t`` are rounded to the trace's
microsecond, the checker is fed and the lines written if a file was asked
for. Nothing else is kept per event.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from bench.collector import held
from bench.link import mobility as link_mobility
from bench.rules import Checker, RuleResult
from bench.rules import get_policy as get_rule_policy
from bench.rules.expect import unmet
from bench.scenario import settle
from bench.scenario.fleet import device_specs
from bench.scenario.model import Scenario
from bench.scenario.mutants import get_server_mutant
from bench.scenario.people import PRESETS as BEHAVIOURS
from bench.scenario.rng import DeviceRandom, stream
from bench.sim import mobility, people
from bench.sim.calls import Clock, later, run_until, spawn
from bench.sim.device import Device
from bench.sim.partition import Shard
from bench.sim.push import PushService
from bench.sim.queue import ServiceQueue
from bench.sim.server import ServerModel
from bench.trace import SCHEMA
from reference_client import Engine
from reference_client import get_policy as get_client_policy

# Progress is reported this many times over a run.
PROGRESS_STEPS = 50

# Events are handed to the checker and the trace writer about this many at a
# time (Fleet.flush): the checker's loop then runs over a batch with its code
# and state warm, instead of one call from the middle of an engine per event.
EMIT_BATCH = 1024
# The clock flushes every EMIT_BATCH / (devices * this) seconds, within the
# bounds below: a busy hour of the Planado day makes ~0.04 events a device-second.
EVENTS_PER_DEVICE_S = 0.05
FLUSH_MIN_S, FLUSH_MAX_S = 0.1, 60.0


@dataclass(slots=True, kw_only=True)
class SimResult:
    scenario: Scenario
    results: list[RuleResult]
    metrics: dict[str, Any]
    series: dict[str, list[tuple[float, float]]]
    meta: dict[str, Any]
    problems: list[str] = field(default_factory=list)  # unmet `expect:` entries

    @property
    def ok(self) -> bool:
        return not self.problems


def trace_meta(sc: Scenario) -> dict[str, Any]:
    # trace.md: settled is "true when the run ended with a settle window".
    return {"ev": "meta", "schema": SCHEMA, "policy": sc.policy, "settled": sc.settle_s > 0,
            "seed": sc.seed, "time_scale": 1, "params": dict(sc.params), "scenario": sc.name}


def _relaxed_gc() -> AbstractContextManager[None]:
    """No cyclic collection while the clock runs.

    A fleet allocates millions of short-lived objects (events, actions, answers)
    that reference counting frees, and keeps a large state (engines, ledgers,
    rule state per device) that forms no garbage cycles while it runs (checked:
    a full collection after the clock of every shipped scenario finds nothing
    unreachable but the fleet once it is dropped). Yet each object that lives
    on is walked by a young pass, again by a middle one, and all of them by
    every full pass as the state grows: 6.5 % of a 10,000-device run with
    passes every 50,000 allocations (572 young passes in two simulated hours),
    8-14 % at the default 700. So the state built before the run is frozen out
    of sight and automatic passes are off until the clock stops; after it the
    collector is as it was, and a fleet dropped later is freed by it as before.
    What the run kept goes to the oldest generation with what was frozen (held's
    ``promote``): left young, the first passes after the clock walked all of it
    for nothing (1.4 s after three hours of 10,000 devices).
    (tests/sim: a run leaves the collector as it found it.)
    """
    return held(freeze=True, off=True, promote=True)


class Fleet:
    """One SimPy run of ``scenario``'s fleet, or of one ``shard`` of it
    (:mod:`bench.sim.partition`: its devices, its workers, its own streams)."""

    def __init__(self, scenario: Scenario, *, writer: Any = None, check: bool = True,
                 shard: Shard | None = None) -> None:
        sc = self.scenario = scenario
        self.shard = shard or Shard(index=0, count=1, devices=frozenset(), workers=sc.server.workers)
        self.env = Clock()
        self.meta = trace_meta(sc)
        if self.shard.count > 1:
            self.meta["shards"] = self.shard.count  # an extension: how the fleet was split
        self.checker = Checker(get_rule_policy(sc.policy), meta=self.meta) if check else None
        self.writer = writer
        if writer is not None:
            writer.write(self.meta)
        self._feed = self.checker.feed_many if self.checker is not None else None
        self._write = writer.write if writer is not None else None
        self._batch: list[dict[str, Any]] = []
        # An event of the run: to the checker and the trace, in order, in batches
        # (``flush``; nothing in the run reads an event once it is emitted). The
        # list's own append, no Python frame per event: the clock flushes it.
        self.emit: Callable[[dict[str, Any]], None] = self._batch.append
        self.n_events = 0
        self.bytes_moved = 0.0
        self.settling = False
        smut = get_server_mutant(sc.server.mutant)
        pmut = get_server_mutant(sc.push.mutant) if sc.push.mutant else smut
        stream_of = self.shard.stream
        self.queue = ServiceQueue(workers=self.shard.workers, service=sc.server.service_s,
                                  rng=random.Random(stream_of(sc.seed, "queue")))
        self.push_service = PushService(delay=sc.push.delay_s, ttl_s=sc.push.ttl_s,
                                        rng=random.Random(stream_of(sc.seed, "push")), later=self.later,
                                        mutant=pmut)
        self.devices: dict[str, Device] = {}
        self.behaving: list[str] = []  # devices driven by a behaviour preset
        self._build_devices()
        self.server = ServerModel(emit=self.emit, mutant=smut, devices=tuple(self.devices))
        self.outages = tuple(sc.server.outages)
        self.lost_responses = tuple(sc.server.lost_responses)

    # ---- construction ---------------------------------------------------------

    def _build_devices(self) -> None:
        sc = self.scenario
        env = self.env
        mine = self.shard.devices if self.shard.count > 1 else None
        for spec in device_specs(sc):
            if mine is not None and spec.id not in mine:
                continue
            rng = DeviceRandom(f"{sc.seed}/{spec.id}")
            eng = Engine(device=spec.id, policy=get_client_policy(spec.client), rng=rng, start=0.0,
                         sink=self.emit, screen=False)
            dev = Device(self, spec.id, eng, rng, push_enabled=spec.push)
            self.devices[spec.id] = dev
            first = next((s for s in spec.steps if s.kind == "link" and s.t == 0), None)
            start = first.value if first is not None else spec.link
            dev.set_link(start)
            if spec.steps:
                spawn(env, people.steps(dev, spec.steps))
            if spec.mobility is not None:
                spawn(env, mobility.markov(dev, link_mobility.get_model(spec.mobility),
                                           stream(sc.seed, spec.id, "mobility"), start))
            if spec.behaviour is not None:
                self.behaving.append(spec.id)
                spawn(env, people.worker(dev, BEHAVIOURS[spec.behaviour],
                                         stream(sc.seed, spec.id, "behaviour")))

    # ---- services the parts use --------------------------------------------------

    def later(self, delay: float, fn: Any, *args: Any) -> None:
        later(self.env, delay, fn, *args)

    def _flush_every(self, every: float) -> None:
        """The clock's flush, every ``every`` simulated seconds."""
        self.flush()
        later(self.env, every, self._flush_every, every)

    def flush(self) -> None:
        """Hand the events emitted so far to the checker and the trace writer."""
        batch = self._batch
        if not batch:
            return
        last = rounded = -1.0
        for ev in batch:
            # Microseconds, as round(t, 6) would give but for the rare tie (that one
            # goes through decimal digits: 4x the cost, on every event of a fleet);
            # once per instant (a sync's end, its acks and its display share one).
            t = ev["t"]
            if t != last:
                last, rounded = t, round(t * 1e6) / 1e6
            ev["t"] = rounded
        self.n_events += len(batch)
        if self._feed is not None:
            self._feed(batch)
        if self._write is not None:
            for ev in batch:
                self._write(ev)
        batch.clear()

    def in_outage(self, now: float) -> bool:
        return any(a <= now < b for a, b in self.outages)

    def response_lost(self, now: float) -> bool:
        return any(a <= now < b for a, b in self.lost_responses)

    def dispatch(self, op: str, record: str, assignee: str | None, *, status: str | None = None,
                 file: str | None = None, nbytes: int | None = None,
                 fields: dict[str, Any] | None = None) -> None:
        now = self.env.now
        targets = self.server.dispatch(now, op, record, assignee, status=status, file=file,
                                       nbytes=nbytes, fields=fields)
        if not self.scenario.push.enabled:
            return
        for dev in targets:
            d = self.devices.get(dev)
            if d is None:
                continue
            self.emit({"ev": "srv_push", "t": now, "dev": dev, "record": record, "reason": op})
            self.push_service.send(now, d, record, op)

    # ---- the run -----------------------------------------------------------------

    def _settle(self) -> None:
        """The settle window: "every device online on a fast link, running"."""
        self.settling = True
        for d in self.devices.values():
            d.stopped = True
            d.set_link(self.scenario.settle_link)
            state = settle.wake(d.engine.app)
            if state is not None:
                d.app(state)

    def _pull(self) -> None:
        for d in self.devices.values():
            d.manual("settle")

    def run(self, progress: Any = None) -> SimResult:
        import time

        sc = self.scenario
        env = self.env
        wall0 = time.perf_counter()
        if sc.dispatch and self.shard.index == 0:  # scripted operations: the first shard's
            spawn(env, people.dispatch_steps(self, sc.dispatch))
        spawn(env, people.dispatcher(self, random.Random(self.shard.stream(sc.seed, "dispatcher")),
                                     suffix=self.shard.tag))
        end = sc.duration_s + sc.settle_s
        # The settle window's moments (bench.scenario.settle); the snapshots come
        # after the clock has run to the end.
        for t, moment in settle.schedule(sc):
            if moment == "fast":
                self.later(t, self._settle)
            elif moment == "pull":
                self.later(t, self._pull)
        every = EMIT_BATCH / (EVENTS_PER_DEVICE_S * max(1, len(self.devices)))
        every = min(max(every, FLUSH_MIN_S), FLUSH_MAX_S)
        self.later(every, self._flush_every, every)
        step = end / PROGRESS_STEPS
        with _relaxed_gc():
            for i in range(1, PROGRESS_STEPS + 1):
                run_until(env, min(end, i * step))
                self.flush()
                if progress is not None:
                    progress(env.now, end, self.n_events)
        for dev_id, d in self.devices.items():
            d.snapshot()
            self.server.snapshot(env.now, dev_id)
        self.flush()
        results = self.checker.finish() if self.checker is not None else []
        wall = time.perf_counter() - wall0
        return SimResult(scenario=sc, results=results, metrics=self.metrics(wall),
                         series=self.queue.series(), meta=self.meta,
                         problems=expect_problems(sc, results))

    def metrics(self, wall_s: float) -> dict[str, Any]:
        n = len(self.devices)
        hours = self.scenario.duration_s / 3600.0
        q, ps = self.queue, self.push_service
        return {
            "devices": n, "hours": hours, "settle_s": self.scenario.settle_s,
            "events": self.n_events, "wall_s": round(wall_s, 3),
            "device_hours_per_wall_s": round(n * hours / wall_s, 1) if wall_s else None,
            "syncs": sum(d.n_syncs for d in self.devices.values()),
            "syncs_failed": sum(d.n_failed for d in self.devices.values()),
            "server_requests": q.n, "server_mean_wait_s": round(q.mean_wait, 6),
            "server_max_wait_s": round(q.wait_max, 6), "server_applied": self.server.n_apply,
            "dispatches": self.server.n_dispatch, "pushes_sent": ps.n_sent,
            "pushes_delivered": ps.n_delivered, "pushes_dropped": ps.n_dropped,
            "file_bytes_moved": int(self.bytes_moved),
        }


def expect_problems(sc: Scenario, results: list[RuleResult]) -> list[str]:
    """Unmet ``expect:`` entries (:func:`bench.rules.expect.unmet`, as every mode)."""
    return list(unmet(results, sc.expect))
