"""A suite's items side by side: lanes of worker processes.

Theory of operation
-------------------
A real item mostly waits: K-compressed timers and a shaped link's pacing
(measured, the default suite: 24 CPU seconds in 5:45 of wall time, 8 % of
one core). Its wall time is its spec time / K, and a suite's is the sum of
its items': 104 spec minutes of 3G items at K = 42 is 2.5 minutes however
fast the machine. Items are independent -- each has its own server, proxy,
clients, database and report folder -- so they run in lanes, one worker
process each, ``--jobs`` of them (default: one per core, at most
:data:`AUTO_MAX_JOBS`)::

    every item   ──> checked up front (a bad file fails before anything plays)
    trace items  ──> here, in order (milliseconds each)
    sim items    ──> lanes (CPU-bound: they finish before any real item starts)
    real items   ──> one calibration of K for all of them, here
                 ──> solo, here: a fleet past FLEET_FREE_DEVICES had its K
                     lowered for the whole machine, and a link moving more
                     than LANE_MAX_WALL_KBS at its K keeps the proxy busy:
                     each runs alone
                 ──> the others in lanes, the longest (duration + settle) first
    results      ──> in the order the items were given

Measured on this 2-core machine, two lanes against one: the same three
drift-sampled items at K = 45 drifted -3 / -4 % side by side and -4 / -5 %
one after another (docs/real.md has the suite's figures). With
``--target-server`` the items share the team's server, its records and its
capacity, so they run one at a time. The first item that cannot run (its
message is one line, a :class:`SuiteError`) stops the suite: items not
started are cancelled and the running ones finish.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.suite.items import ItemResult

# Lanes `--jobs auto` runs: one per core (a lane's real item uses a few percent
# of one), at most this many (each lane is a client process plus its own
# server and proxy processes).
AUTO_MAX_JOBS = 4
# The most lanes `--jobs` accepts.
MAX_JOBS = 16


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One item of a suite in one mode (``both`` gives a scenario two tasks)."""

    index: int  # its place in the results
    path: Path
    kind: str  # "trace" | "sim" | "real"
    options: dict[str, Any]  # run_scenario_item's keywords (time_scale, seed, target, capture)
    label: str = ""  # what the progress line says after the path
    weight: float = 0.0  # spec seconds (real) or device-seconds (sim): the longest start first
    solo: bool = False  # runs alone (a real fleet whose K was lowered for the whole machine)
    # (a real item whose links keep the proxy busy is marked after the calibration)
    profiles: tuple[str, ...] = ()  # real: the shaped profiles it plays (calibrated up front)


def auto_jobs(target_server: str | None = None) -> int:
    """``--jobs auto``: one lane per core, at most AUTO_MAX_JOBS; one with a team's server."""
    if target_server:
        return 1
    return max(1, min(AUTO_MAX_JOBS, os.cpu_count() or 1))


def plan_tasks(paths: Sequence[Path], modes: Sequence[str], options: dict[str, Any]) -> list[Task]:
    """A task per trace file and per scenario file and mode, each checked as
    far as it can be before anything plays (a one-line SuiteError names the
    first that cannot run)."""
    from bench.scenario import ScenarioError, load_scenario
    from bench.suite.items import SuiteError

    tasks: list[Task] = []
    for path in paths:
        if path.suffix == ".jsonl":
            tasks.append(Task(index=len(tasks), path=path, kind="trace", options={}))
            continue
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            raise SuiteError(str(exc)) from None
        if options.get("seed") is not None:
            scenario = scenario.with_overrides(seed=options["seed"])
        spec_s = scenario.duration_s + scenario.settle_s
        for mode in modes:
            label = f" [{mode}]" if len(modes) > 1 else ""
            if mode == "sim":
                tasks.append(Task(index=len(tasks), path=path, kind="sim", label=label,
                                  options={"seed": options.get("seed")},
                                  weight=spec_s * scenario.n_devices))
                continue
            devices, profiles = _real_preflight(path, scenario, options)
            tasks.append(Task(index=len(tasks), path=path, kind="real", label=label,
                              options=dict(options), weight=spec_s, profiles=profiles,
                              solo=devices > _fleet_free()))
    return tasks


def calibrate_real(tasks: Sequence[Task], echo: Callable[[str], None] | None = None) -> set[int]:
    """One calibration of K for every real task's profiles, before any plays
    (lanes must not calibrate at once, nor beside a playing item); the tasks
    whose links keep the proxy busy at their K, to run alone
    (bench.real.scale.busy_links)."""
    from bench.real.calibrate import calibrate
    from bench.real.scale import auto_k, busy_links

    used = sorted({p for t in tasks for p in t.profiles})
    if not used:
        return set()
    cal = calibrate(used)
    (echo or _stderr)("time scale calibration: " + ", ".join(
        f"{n} K={ps.k:g}" for n, ps in cal.profiles.items()) + f" ({cal.note or 'calibrated now'})")
    alone = set()
    for t in tasks:
        asked = t.options.get("time_scale")
        k = float(asked) if isinstance(asked, int | float) else auto_k(cal, t.profiles)
        if t.profiles and busy_links(t.profiles, k):
            alone.add(t.index)
    return alone


def _real_preflight(path: Path, scenario: Any, options: dict[str, Any]) -> tuple[int, tuple[str, ...]]:
    from bench.suite.items import SuiteError

    try:
        from bench.real import RealRunError
        from bench.real.run import preflight
        from bench.real.scale import shaped_profiles
    except ImportError:
        raise SuiteError(f"{path}: real mode is not available in this build") from None
    try:
        devices, _ = preflight(path, scenario, options.get("time_scale"),
                               options.get("target_server"), options.get("target_token"))
    except RealRunError as exc:
        raise SuiteError(str(exc)) from None
    return len(devices), tuple(shaped_profiles(devices))


def _fleet_free() -> int:
    from bench.real.scale import FLEET_FREE_DEVICES

    return FLEET_FREE_DEVICES


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_task(task: Task, out_root: Path | None) -> ItemResult:
    """Run one task (here or in a lane); any error it can name is a one-line SuiteError."""
    from bench.rules import PolicyError
    from bench.suite.items import SuiteError, run_trace_item
    from bench.suite.scenarios import run_scenario_item
    from bench.trace import TraceError

    print(f"-- {task.path}{task.label}", file=sys.stderr, flush=True)
    try:
        if task.kind == "trace":
            return run_trace_item(task.path, out_root)
        return run_scenario_item(task.path, out_root, mode=task.kind, **task.options)
    except (TraceError, PolicyError, SuiteError) as exc:
        # One argument, so it crosses back from a lane as it is.
        raise SuiteError(str(exc)) from None


def run_tasks(tasks: Sequence[Task], out_root: Path | None, *, jobs: int = 1,
              prepare_real: Callable[[list[Task]], set[int] | None] | None = None,
              executor: Callable[[int], concurrent.futures.Executor] | None = None,
              ) -> list[ItemResult]:
    """Every task's result, in ``tasks``' order (see the module docs).

    ``prepare_real`` runs here once before the first real task (the suite's
    one calibration of K) and names the real tasks to run alone; ``executor(n)`` makes the lanes (default: a pool
    of ``n`` spawn-started processes)."""
    from bench.suite.items import SuiteError

    if not 1 <= jobs <= MAX_JOBS:
        raise SuiteError(f"--jobs: expected 1..{MAX_JOBS} lanes, got {jobs}")
    results: dict[int, ItemResult] = {}
    by_kind: dict[str, list[Task]] = {"trace": [], "sim": [], "real": []}
    for t in tasks:
        by_kind[t.kind].append(t)
    with _Lanes(jobs, out_root, executor or _process_pool) as lanes:
        for t in by_kind["trace"]:
            results[t.index] = run_task(t, out_root)
        lanes.run(by_kind["sim"], results)
        real = by_kind["real"]
        if real and prepare_real is not None:
            alone = prepare_real(real) or set()
            real = [dataclasses.replace(t, solo=True) if t.index in alone else t for t in real]
        for t in real:
            if t.solo:
                results[t.index] = run_task(t, out_root)
        lanes.run([t for t in real if not t.solo], results)
    return [results[t.index] for t in tasks]


class _Lanes:
    """A spawn-started process pool, made when first needed; one task here
    when only one would run."""

    def __init__(self, jobs: int, out_root: Path | None,
                 make: Callable[[int], concurrent.futures.Executor]) -> None:
        self.jobs = jobs
        self.out_root = out_root
        self.make = make
        self.pool: concurrent.futures.Executor | None = None

    def __enter__(self) -> _Lanes:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            # Not started: cancelled; running (a real item mid-play): let finish,
            # so its server, proxy and clients are stopped by its own finally blocks.
            self.pool.shutdown(wait=True, cancel_futures=True)

    def run(self, tasks: list[Task], results: dict[int, ItemResult]) -> None:
        if self.jobs == 1 or len(tasks) <= 1:
            for t in tasks:
                results[t.index] = run_task(t, self.out_root)
            return
        if self.pool is None:
            self.pool = self.make(self.jobs)
        # Longest first, so the lanes end together (Python's sort is stable:
        # equal weights keep the order given).
        ordered = sorted(tasks, key=lambda t: -t.weight)
        futures = {self.pool.submit(run_task, t, self.out_root): t for t in ordered}
        for fut in concurrent.futures.as_completed(futures):
            results[futures[fut].index] = fut.result()  # the first error stops the suite


def _process_pool(jobs: int) -> concurrent.futures.Executor:
    # spawn, not fork: the parent may hold threads (an HTTP client, a
    # calibration's loop) that a forked child would inherit half-held.
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
        initializer=_watch_parent)


def _watch_parent() -> None:
    """A lane outlives no suite: when the parent dies unasked (SIGTERM, SIGKILL),
    the lane interrupts itself as Ctrl-C would, so a playing item stops its
    server, proxy and clients in its finally blocks (seen: a killed suite's
    lanes idle for 22 minutes, and a lane mid-item plays it to its end)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=watch, name="lane-parent-watch", daemon=True).start()
