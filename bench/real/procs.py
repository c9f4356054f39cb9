"""Worker processes for a large fleet: one event loop of devices per process.

Theory of operation: one asyncio loop carries a handful of real clients; past
that the GIL, not the link, sets the pace and transfers miss their scaled
targets. A large fleet is therefore split into groups, one per worker process
(``spawn``: a clean interpreter, no copied threads or sockets). The start is a
two-step handshake so the run's epoch is chosen only when every process is
ready::

    parent                         worker i
    start()  ── spawn ──────────>  import the client, send "ready"
    (all ready)
    go(t0)   ── t0 ─────────────>  play_group(plan, t0)   (bench.real.devices)
    wait()   <── GroupResult ────  send the result, exit

``stop()`` (always called, in a ``finally``) terminates and joins every
process still alive, so a failure or Ctrl-C leaves no orphan behind.
"""

from __future__ import annotations

import multiprocessing as mp
from typing import Any

from bench.real.devices import GroupPlan, GroupResult

# A spawned interpreter imports httpx, websockets and the client in about a
# second; a loaded 2-core machine may need several.
READY_TIMEOUT_S = 60.0
# How long a worker may take to close its clients after the run's end.
STOP_TIMEOUT_S = 10.0


def _worker(plan: GroupPlan, conn: Any) -> None:
    import asyncio
    import signal

    # Ctrl-C goes to the whole process group; the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from bench.real.devices import play_group, warm_up

    warm_up()

    def epoch() -> float:
        conn.send("ready")  # every client is open
        return conn.recv()

    from bench.real.steady import steady_gc

    try:
        with steady_gc():
            result = asyncio.run(play_group(plan, epoch))
    except BaseException as exc:  # reported to the parent, never lost
        result = GroupResult(errors=[f"worker: {exc!r}"])
    conn.send(result)
    conn.close()


class ProcessGroups:
    def __init__(self, plans: list[GroupPlan]) -> None:
        self.plans = plans
        self.ctx = mp.get_context("spawn")
        self.procs: list[Any] = []
        self.conns: list[Any] = []
        self.finished = False  # every worker sent its result

    def start(self) -> None:
        for plan in self.plans:
            parent, child = self.ctx.Pipe()
            proc = self.ctx.Process(target=_worker, args=(plan, child), daemon=True,
                                    name="syncbench-real-devices")
            proc.start()
            child.close()
            self.procs.append(proc)
            self.conns.append(parent)
        for conn, proc in zip(self.conns, self.procs, strict=True):
            if not conn.poll(READY_TIMEOUT_S) or conn.recv() != "ready":
                raise RuntimeError(f"device worker {proc.pid} did not start "
                                   f"within {READY_TIMEOUT_S:g} s")

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def go(self, t0: float) -> None:
        for conn in self.conns:
            conn.send(t0)

    def wait(self) -> list[GroupResult]:
        out = []
        for conn, proc in zip(self.conns, self.procs, strict=True):
            try:
                out.append(conn.recv())
            except EOFError:
                out.append(GroupResult(errors=[f"device worker {proc.pid} died "
                                               f"(exit {proc.exitcode})"]))
        self.finished = True
        return out

    def stop(self) -> None:
        """Join the workers; ones still playing (a failure, Ctrl-C) are terminated at once."""
        for proc in self.procs:
            if self.finished:
                proc.join(STOP_TIMEOUT_S)
            if proc.is_alive():
                proc.terminate()
                proc.join(STOP_TIMEOUT_S)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self.conns:
            conn.close()
