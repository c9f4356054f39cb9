"""Run Locust headless through its library API, locally or as master of W workers.

Theory of operation: :func:`run_locust` builds a ``locust.env.Environment``
with the two user classes, then either a local runner (users in this process)
or a master runner bound to 127.0.0.1 on a free port with W worker processes
(``python -m locust -f bench/load/locustfile.py --worker``), waits until every
worker reports ready, and sends them the configuration. The run's epoch (spec
time 0 of every device, the origin of the profile's moments) is set just
before spawning. It starts ``devices + 1`` users (the dispatcher has
``fixed_count = 1``), lets them run for the duration, and quits::

    epoch ── spawn at --spawn-rate ── ... run ... ── duration: quit, final stats
      └─ sampler: every second a Snapshot (stats, users, generator CPU)

Alongside, as Locust's own ``main`` does: ``stats_history`` (the HTML report's
charts) and a ``StatsCSVFileWriter`` (``<out>/locust_stats.csv``,
``_stats_history.csv``, ``_failures.csv``, ``_exceptions.csv``); at the end the
HTML report (``locust.html.get_html_report``, the ``--html`` file). The
generator's CPU is read with psutil from this process and every worker.
"""

from __future__ import annotations

import csv
import os
import resource
import socket
import subprocess as sp
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust import stats as lstats
from locust.env import Environment
from locust.html import get_html_report
from locust.log import setup_logging

from bench.load import users
from bench.load.config import LoadConfig
from bench.load.cpu import cpu_summary
from bench.load.series import SAMPLE_S, Snapshot

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Seconds to wait for W workers to connect and report ready (a loaded 2-core
# CI machine imports locust in a couple of seconds per process).
WORKER_READY_TIMEOUT_S = 60.0
# Poll period while waiting for workers (Locust has no "all ready" event).
WORKER_POLL_S = 0.05
# Seconds a stopping user may finish its request (Locust's --stop-timeout).
STOP_TIMEOUT_S = 5.0
CSV_PREFIX = "locust"


@dataclass(slots=True, kw_only=True)
class RunOutput:
    summary: dict[str, Any]
    snapshots: list[Snapshot]
    marks: list[dict[str, Any]]
    cpu: dict[str, Any]
    epoch: float = 0.0
    entries: list[dict[str, Any]] = field(default_factory=list)


def _raise_fd_limit() -> None:
    # One connection per device: a fleet of thousands needs thousands of fds
    # (Locust's own main raises the limit the same way).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_workers(cfg: LoadConfig, port: int) -> list[sp.Popen]:
    local = "127.0.0.1" if cfg.master_bind in ("*", "0.0.0.0", "") else cfg.master_bind
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker",
           "--master-host", local, "--master-port", str(port), "--loglevel", "WARNING"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")])}
    return [sp.Popen(cmd, env=env, stdin=sp.DEVNULL) for _ in range(cfg.workers)]


def run_locust(cfg: LoadConfig, *, out: Path | None = None) -> RunOutput:
    """Run the load described by ``cfg`` (host and tokens filled in) and collect the figures."""
    _raise_fd_limit()
    setup_logging("WARNING")  # user errors and Locust's warnings reach stderr
    env = Environment(user_classes=[users.DeviceUser, users.DispatcherUser], host=cfg.host,
                      stop_timeout=STOP_TIMEOUT_S)
    procs: list[sp.Popen] = []
    if cfg.all_workers:
        port = cfg.master_port or _free_port()
        runner = env.create_master_runner(master_bind_host=cfg.master_bind,
                                          master_bind_port=port)
        users.install(env)
        procs = _start_workers(cfg, port)
        if cfg.remote_workers:
            print(f"syncbench load: waiting for {cfg.remote_workers} remote workers: "
                  f"locust -f bench/load/locustfile.py --worker --master-host <this host> "
                  f"--master-port {port}", file=sys.stderr, flush=True)
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_S * (10 if cfg.remote_workers else 1)
        while len(runner.clients.ready) < cfg.all_workers:
            dead = [p.returncode for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                _stop_workers(procs)
                raise RuntimeError(f"locust workers did not become ready "
                                   f"({len(runner.clients.ready)} of {cfg.all_workers}"
                                   f"{', exit ' + str(dead) if dead else ''})")
            gevent.sleep(WORKER_POLL_S)
    else:
        runner = env.create_local_runner()
        users.install(env)
    history = gevent.spawn(lstats.stats_history, runner)
    writer = None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        writer = lstats.StatsCSVFileWriter(env, lstats.PERCENTILES_TO_REPORT,
                                           str(out / CSV_PREFIX), full_history=False)
        csv_greenlet = gevent.spawn(writer.stats_writer)

    gen = [psutil.Process()] + [psutil.Process(p.pid) for p in procs]
    for p in gen:
        p.cpu_percent(None)
    cpu0 = sum(_cpu_s(p) for p in gen)
    cfg = cfg.replace(epoch=time.time())
    if cfg.all_workers:
        runner.send_message("config", cfg.to_dict())
    users.configure(cfg)
    snaps: list[Snapshot] = []
    per_proc: list[list[float]] = [[] for _ in gen]

    def sample() -> None:
        # psutil's cpu_percent over a few milliseconds is clock-tick noise (it can
        # read 300 %), so the first CPU figure comes one full period after the epoch.
        snaps.append(Snapshot(t=0.0, requests=0, failures=0))
        while True:
            gevent.sleep(SAMPLE_S)
            t = runner.stats.total
            cpus = [_cpu_pct(p) for p in gen]
            for i, c in enumerate(cpus):
                per_proc[i].append(c)
            snaps.append(Snapshot(t=time.time() - cfg.epoch, requests=t.num_requests,
                                  failures=t.num_failures, hist=dict(t.response_times),
                                  users=runner.user_count, cpu=max(cpus)))

    sampler = gevent.spawn(sample)
    runner.start(cfg.devices + 1, spawn_rate=cfg.spawn_rate)
    gevent.sleep(max(0.0, cfg.epoch + cfg.duration_s - time.time()))
    cpu1 = sum(_cpu_s(p) for p in gen)
    elapsed = time.time() - cfg.epoch
    sampler.kill()
    runner.quit()  # requests in flight end (stop_timeout) and workers send their last stats
    history.kill()
    t = runner.stats.total
    snaps.append(Snapshot(t=time.time() - cfg.epoch, requests=t.num_requests,
                          failures=t.num_failures, hist=dict(t.response_times), users=0,
                          cpu=snaps[-1].cpu))
    _stop_workers(procs)
    if writer is not None:
        csv_greenlet.kill()
        writer.close_files()
        _final_csv(env, out)  # the writer's last pass may be a second old
        (out / "locust.html").write_text(get_html_report(env, show_download_link=False),
                                         encoding="utf-8")
    summary = _summary(runner.stats, elapsed, cfg)
    summary["syncs_by_trigger"] = users.triggers()
    if cfg.push_sockets:
        summary.update({f"push_{k}": v for k, v in users.push_stats().items()})
    return RunOutput(summary=summary, snapshots=snaps,
                     marks=list(users.STATE.marks),
                     cpu=cpu_summary(per_proc, cpu1 - cpu0, len(gen)),
                     epoch=cfg.epoch, entries=_entries(runner.stats))


def _cpu_s(p: psutil.Process) -> float:
    try:
        c = p.cpu_times()
        return c.user + c.system
    except psutil.Error:
        return 0.0


def _cpu_pct(p: psutil.Process) -> float:
    try:
        return p.cpu_percent(None)
    except psutil.Error:
        return 0.0


def _stop_workers(procs: list[sp.Popen]) -> None:
    for p in procs:
        try:
            p.wait(timeout=STOP_TIMEOUT_S + 10)
        except sp.TimeoutExpired:
            p.kill()
            p.wait()


def _final_csv(env: Environment, out: Path) -> None:
    w = lstats.StatsCSV(env, lstats.PERCENTILES_TO_REPORT)
    with open(out / f"{CSV_PREFIX}_stats.csv", "w", newline="") as f:
        w.requests_csv(csv.writer(f))
    with open(out / f"{CSV_PREFIX}_failures.csv", "w", newline="") as f:
        w.failures_csv(csv.writer(f))


def _summary(stats: Any, elapsed: float, cfg: LoadConfig) -> dict[str, Any]:
    t = stats.total
    sync = stats.entries.get(("POST /v1/sync", "POST"))
    return {
        "requests": t.num_requests, "failures": t.num_failures,
        "fail_ratio": t.fail_ratio, "elapsed_s": round(elapsed, 3),
        "rps": t.num_requests / elapsed if elapsed > 0 else 0.0,
        "p50_ms": t.get_response_time_percentile(0.5) or 0.0,
        "p95_ms": t.get_response_time_percentile(0.95) or 0.0,
        "p99_ms": t.get_response_time_percentile(0.99) or 0.0,
        "max_ms": t.max_response_time or 0.0,
        "syncs": sync.num_requests if sync else 0,
        "sync_failures": sync.num_failures if sync else 0,
        "sync_p99_ms": (sync.get_response_time_percentile(0.99) or 0.0) if sync else 0.0,
    }


def _entries(stats: Any) -> list[dict[str, Any]]:
    return [{"name": e.name, "method": e.method, "requests": e.num_requests,
             "failures": e.num_failures, "p50_ms": e.get_response_time_percentile(0.5),
             "p99_ms": e.get_response_time_percentile(0.99)}
            for e in sorted(stats.entries.values(), key=lambda e: (e.name, e.method))]
