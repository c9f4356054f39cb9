"""Sharded runs: one fleet split into independent shards, run in parallel, merged.

Theory of operation::

    Scenario ──partition──> Shard 1..N ──> worker processes (this machine,
                                  │         at most one per core at a time)
                                  │      or Dask tasks (--dask ADDRESS)
                                  v
                each: Fleet(shard) ── every rule online ──> ShardOutcome
                      (verdicts, metrics, queue series, peak memory,
                       optionally its trace part file)
                                  │
    merge ───> verdicts: instances add up (a rule fails if any shard's failed)
               metrics:  counts add, the queue's waits weighted by requests
               trace:    the parts' lines k-way merged by t, ties in shard
                         order; one meta line -> same seed, same N, same bytes

Shards share no device and no record (:mod:`bench.sim.partition`), and every
rule judges instances of one device or one record, so the merged verdicts are
the verdicts of the merged trace; the test suite checks that on whole runs.

A worker that dies (killed, out of memory) is reported with its shard and
exit code the moment it is seen, never waited for; a Dask task that fails or
whose worker dies is reported the same way.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import queue
import resource
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.rules.base import FAIL, MAX_VIOLATIONS_KEPT, NA, PASS, RuleResult
from bench.scenario.model import Scenario
from bench.sim.fleet import Fleet, SimResult, expect_problems, trace_meta
from bench.sim.partition import Shard, ShardError, partition

# How often the parent looks for a dead worker while none reports (seconds).
POLL_S = 0.5
# A Dask scheduler that does not answer within this long is unreachable.
DASK_CONNECT_S = 15


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardJob:
    scenario: Scenario
    shard: Shard
    part: str | None = None  # where to write this shard's trace, if anywhere


@dataclass(slots=True, kw_only=True)
class ShardOutcome:
    index: int
    results: list[RuleResult]
    metrics: dict[str, Any]
    series: dict[str, list[tuple[float, float]]]
    peak_mb: float
    wall_s: float
    part: str | None = None
    part_bytes: int = 0
    devices: int = 0


def run_shard(job: ShardJob, progress: Callable[[float, float, int], None] | None = None
              ) -> ShardOutcome:
    """Run one shard here and now (in a worker process or a Dask task)."""
    from bench.trace import TraceWriter

    t0 = time.perf_counter()
    if job.part is None:
        fleet = Fleet(job.scenario, shard=job.shard)
        result = fleet.run(progress)
        size = 0
    else:
        with TraceWriter(job.part) as w:
            fleet = Fleet(job.scenario, shard=job.shard, writer=w)
            result = fleet.run(progress)
        size = os.path.getsize(job.part)
    return ShardOutcome(index=job.shard.index, results=result.results, metrics=result.metrics,
                        series=result.series, peak_mb=_peak_mb(), part=job.part, part_bytes=size,
                        wall_s=time.perf_counter() - t0, devices=len(fleet.devices))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# ---- running the shards --------------------------------------------------------


def _child(target: Callable[..., ShardOutcome], job: ShardJob, q: Any,
           memory_mb: int | None = None) -> None:
    """A worker process: run one shard, reporting progress and the outcome on ``q``."""
    i = job.shard.index
    try:
        if memory_mb:
            # The shard's address space, capped: past it an allocation fails in
            # this process (a MemoryError, named below), not the machine.
            cap = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        out = target(job, lambda now, end, events: q.put(("progress", i, now, end, events)))
        q.put(("done", i, out))
    except MemoryError:
        q.put(("error", i, f"MemoryError: it needed more than --shard-memory-mb {memory_mb} "
                           f"(more shards, or a higher cap)"))
        return
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent, named
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        q.put(("error", i, f"{last}\n{traceback.format_exc()}"))
        return
    # The outcome is in the pipe (the queue's feeder flushed): the worker ends
    # here, without freeing its fleet object by object at exit, which the parent
    # waits for in join() (0.65 s for a 5,000-device hour; its trace part is
    # closed already).
    q.close()
    q.join_thread()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class _Progress:
    """One line for the group: device-weighted simulated time across shards."""

    def __init__(self, shards: list[Shard], end: float, show: Callable[..., None] | None) -> None:
        self.weights = [len(s.devices) for s in shards]
        self.total = sum(self.weights) or 1
        self.now = [0.0] * len(shards)
        self.events = [0] * len(shards)
        self.end = end
        self.show = show

    def update(self, i: int, now: float, events: int) -> None:
        self.now[i], self.events[i] = now, events
        if self.show is not None:
            done = sum(w * n for w, n in zip(self.weights, self.now, strict=True)) / self.total
            self.show(done, self.end, sum(self.events))


def _run_local(jobs: list[ShardJob], progress: _Progress, parallel: int,
               target: Callable[..., ShardOutcome], memory_mb: int | None) -> list[ShardOutcome]:
    ctx = multiprocessing.get_context("spawn")  # no forked copy of the parent's state
    q = ctx.Queue()
    pending = list(jobs)
    running: dict[int, Any] = {}
    outcomes: dict[int, ShardOutcome] = {}
    suspects: set[int] = set()
    try:
        while pending or running:
            while pending and len(running) < parallel:
                job = pending.pop(0)
                p = ctx.Process(target=_child, args=(target, job, q, memory_mb), daemon=True,
                                name=f"syncbench-{job.shard.name.replace(' ', '-')}")
                p.start()
                running[job.shard.index] = p
            try:
                kind, i, payload, *rest = q.get(timeout=POLL_S)
            except queue.Empty:
                # A worker found dead is one if it is still dead and silent a poll
                # later: what it sent before exiting is in the pipe by then.
                suspects = _check_alive(running, jobs, suspects)
                continue
            if kind == "progress":
                progress.update(i, payload, rest[1])
            elif kind == "done":
                outcomes[i] = payload
                progress.update(i, progress.end, payload.metrics["events"])
                running.pop(i).join()
            else:
                raise ShardError(f"{jobs[i].shard.name} failed: {payload}")
    finally:
        for p in running.values():
            p.kill()
            p.join()
    return [outcomes[j.shard.index] for j in jobs]


def _check_alive(running: dict[int, Any], jobs: list[ShardJob], suspects: set[int]) -> set[int]:
    dead = {i for i, p in running.items() if not p.is_alive() and p.exitcode is not None}
    for i in sorted(dead & suspects):
        code = running[i].exitcode
        how = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        hint = " (out of memory?)" if code == -9 else ""
        raise ShardError(f"{jobs[i].shard.name} died: its worker process ended with "
                         f"{how}{hint} before reporting")
    return dead


def _run_dask(jobs: list[ShardJob], progress: _Progress, address: str,
              connect_s: float) -> list[ShardOutcome]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ShardError("--dask needs the 'distributed' package: pip install 'syncbench[dask]'") from None
    try:
        client = Client(address, timeout=f"{connect_s}s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ShardError(f"--dask {address}: cannot reach the scheduler: {exc}") from None
    outcomes: dict[int, ShardOutcome] = {}
    try:
        futures = {client.submit(run_shard, job, pure=False, retries=0,
                                 key=f"syncbench-{job.scenario.name}-{job.shard.index}-{os.getpid()}-{time.time_ns()}"):
                   job for job in jobs}
        for fut in as_completed(list(futures), loop=client.loop):
            job = futures[fut]
            try:
                out = fut.result()
            except Exception as exc:  # a task error, or KilledWorker when its worker died
                raise ShardError(f"{job.shard.name} failed on the Dask cluster at {address}: "
                                 f"{type(exc).__name__}: {exc}") from None
            outcomes[job.shard.index] = out
            progress.update(job.shard.index, progress.end, out.metrics["events"])
    finally:
        client.close()
    return [outcomes[j.shard.index] for j in jobs]


# ---- merging -------------------------------------------------------------------


def merge_results(per_shard: list[list[RuleResult]]) -> list[RuleResult]:
    """Each rule's instances over all shards, as one check of the merged trace."""
    merged = []
    for parts in zip(*per_shard, strict=True):
        judged = sum(r.judged for r in parts)
        failures = sum(r.count for r in parts)
        violations = sorted((v for r in parts for v in r.violations),
                            key=lambda v: (v.t, v.dev or ""))[:MAX_VIOLATIONS_KEPT]
        if any(r.verdict == FAIL for r in parts):
            verdict, why = FAIL, None
        elif any(r.verdict == PASS for r in parts):
            verdict, why = PASS, None
        else:
            verdict, why = NA, parts[0].why
        merged.append(RuleResult(id=parts[0].id, verdict=verdict, judged=judged,
                                 violations=tuple(violations), failures=failures, why=why))
    return merged


def merge_series(per_shard: list[dict[str, list[tuple[float, float]]]], bucket_s: float
                 ) -> dict[str, list[tuple[float, float]]]:
    """Requests per second add up; the mean wait is weighted by requests."""
    counts: dict[float, float] = {}
    waits: dict[float, float] = {}
    for s in per_shard:
        for (t, rps), (_, wait) in zip(s.get("server_rps", ()), s.get("queue_wait_s", ()),
                                       strict=True):
            n = rps * bucket_s
            counts[t] = counts.get(t, 0.0) + n
            waits[t] = waits.get(t, 0.0) + wait * n
    ts = sorted(counts)
    return {"server_rps": [(t, counts[t] / bucket_s) for t in ts],
            "queue_wait_s": [(t, waits[t] / counts[t] if counts[t] else 0.0) for t in ts]}


_SUMMED = ("devices", "events", "syncs", "syncs_failed", "server_requests", "server_applied",
           "dispatches", "pushes_sent", "pushes_delivered", "pushes_dropped", "file_bytes_moved")


def merge_metrics(outs: list[ShardOutcome], wall_s: float) -> dict[str, Any]:
    first = outs[0].metrics
    m: dict[str, Any] = {k: first[k] for k in ("hours", "settle_s")}
    for k in _SUMMED:
        m[k] = sum(o.metrics[k] for o in outs)
    n = m["server_requests"]
    m["server_mean_wait_s"] = round(
        sum(o.metrics["server_mean_wait_s"] * o.metrics["server_requests"] for o in outs) / n, 6
    ) if n else 0.0
    m["server_max_wait_s"] = max(o.metrics["server_max_wait_s"] for o in outs)
    m["wall_s"] = round(wall_s, 3)
    m["device_hours_per_wall_s"] = round(m["devices"] * m["hours"] / wall_s, 1) if wall_s else None
    m["shards"] = len(outs)
    m["shard_devices"] = [o.devices for o in outs]
    m["shard_wall_s"] = [round(o.wall_s, 3) for o in outs]
    m["shard_peak_mb"] = [round(o.peak_mb, 1) for o in outs]
    return m


def _lines(path: str, index: int) -> Iterator[tuple[float, int, bytes]]:
    with open(path, "rb") as fh:
        fh.readline()  # the part's meta: the merged trace has one of its own
        for line in fh:
            yield orjson.loads(line)["t"], index, line


def merge_traces(parts: list[str], out: Path, meta: dict[str, Any]) -> int:
    """Write ``out``: ``meta``, then every part's events in ``t`` order (ties in
    part order, each part's own order kept). Returns the events written."""
    n = 0
    with open(out, "wb") as fh:
        fh.write(orjson.dumps(meta) + b"\n")
        for _, _, line in heapq.merge(*(_lines(p, i) for i, p in enumerate(parts))):
            fh.write(line)
            n += 1
    return n


# ---- the entry point -------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class ShardedRun:
    shards: int
    dask: str | None = None
    parallel: int | None = None  # local processes at once; default: the cores
    connect_s: float = DASK_CONNECT_S
    # Each local worker's address space in MiB (None: no cap). Dask workers
    # have their own (dask-worker --memory-limit).
    memory_mb: int | None = None
    target: Callable[..., ShardOutcome] = field(default=run_shard)


def simulate_sharded(sc: Scenario, run: ShardedRun, *, trace: str | Path | None = None,
                     progress: Callable[[float, float, int], None] | None = None) -> SimResult:
    """Run ``sc`` as ``run.shards`` shards and merge them into one :class:`SimResult`.

    ``trace``: the merged trace's path (parts are written beside it and removed).
    Raises :class:`ShardError` for a split that cannot be made or a shard that fails.
    """
    t0 = time.perf_counter()
    if trace is not None and not isinstance(trace, (str, os.PathLike)):
        raise TypeError("simulate_sharded: trace must be a path (shards write parts beside it)")
    shards = partition(sc, run.shards, flag="--shards")
    # Absolute: a Dask worker's working directory is not ours.
    out = Path(trace).resolve() if trace is not None else None
    jobs = [ShardJob(scenario=sc, shard=s,
                     part=None if out is None else str(out.with_name(f"{out.name}.part{s.index + 1}")))
            for s in shards]
    prog = _Progress(shards, sc.duration_s + sc.settle_s, progress)
    try:
        if run.dask:
            outs = _run_dask(jobs, prog, run.dask, run.connect_s)
        else:
            parallel = max(1, min(run.parallel or len(os.sched_getaffinity(0)), len(jobs)))
            outs = _run_local(jobs, prog, parallel, run.target, run.memory_mb)
        if out is not None:
            missing = [j.part for j in jobs if j.part is None or not os.path.exists(j.part)]
            if missing:
                raise ShardError(f"trace part {missing[0]} is not on this machine: with --dask, "
                                 f"--out/--trace must be a directory every worker shares")
            meta = trace_meta(sc)
            if len(shards) > 1:
                meta["shards"] = len(shards)
            merge_traces([j.part for j in jobs], out, meta)
    finally:
        for j in jobs:
            if j.part is not None and os.path.exists(j.part):
                os.unlink(j.part)
    results = merge_results([o.results for o in outs])
    from bench.sim.queue import BUCKET_S

    meta = trace_meta(sc)
    if len(shards) > 1:
        meta["shards"] = len(shards)
    return SimResult(scenario=sc, results=results, metrics=merge_metrics(outs, time.perf_counter() - t0),
                     series=merge_series([o.series for o in outs], BUCKET_S), meta=meta,
                     problems=expect_problems(sc, results))
