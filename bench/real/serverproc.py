"""The reference server of a real run, as its own process, its log kept aside.

Theory of operation: the server runs as ``python -m reference_server`` (its
documented command line, docs/protocol.md "Running the server") on port 0,
with a database and files folder in the run's scratch folder, the trace on,
and the admin token passed in the environment (``SYNCBENCH_ADMIN_TOKEN``, so
it never shows in a process list). It is ready when it prints its
``{"ready": true, "url": ..., "port": ...}`` line -- read by a thread with a
deadline, never a sleep. Its stderr (uvicorn's log: a client cut mid-request
is logged there with a traceback) goes to a log file, not to the terminal of
the person running the suite; the run copies it into the report folder. At
the end of the block it gets SIGTERM, then SIGKILL if it does not stop.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.real.watch import Watch
from reference_server.auth import new_token
from reference_server.config import ADMIN_TOKEN_ENV
from reference_server.testing import await_ready

STOP_TIMEOUT_S = 10.0
# Memory-backed scratch folders, in order of preference (Linux's tmpfs).
SCRATCH_DIRS = ("/dev/shm",)


def scratch_dir() -> str | None:
    """Where the run keeps its databases and device stores: memory when we can.

    Every client input commits SQLite with ``synchronous=FULL`` (an fsync, some
    6 ms on a virtual disk): at K = 60 that is a third of a spec second in which
    the device's event loop stands still. The bench measures sync behaviour,
    not the phone's flash, so the stores live on tmpfs where there is one."""
    for d in SCRATCH_DIRS:
        if os.path.isdir(d) and os.access(d, os.W_OK):
            return d
    return None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Server:
    url: str
    port: int
    admin_token: str
    pid: int


@contextlib.contextmanager
def reference_server(*, folder: Path, trace: Path, trace_epoch: float, time_scale: float,
                     log: Path, watch: Watch | None = None) -> Iterator[Server]:
    """Run the reference server until the block ends (see module docs).

    ``watch``: notes the server's death should it exit before the block ends."""
    token = new_token()
    cmd = [sys.executable, "-m", "reference_server", "--db", str(folder / "server.sqlite3"),
           "--host", "127.0.0.1", "--port", "0", "--trace", str(trace),
           "--trace-epoch", repr(trace_epoch), "--time-scale", repr(time_scale),
           "--files-dir", str(folder / "server-files")]
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err,
                                env={**os.environ, ADMIN_TOKEN_ENV: token})
    try:
        try:
            ready = await_ready(proc)
        except RuntimeError:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            raise RuntimeError(f"reference server did not start (exit {proc.poll()})"
                               + (f": {tail[0]}" if tail else "")) from None
        if watch is not None:
            watch.add("reference server", proc, log)
        yield Server(url=ready["url"], port=ready["port"], admin_token=token, pid=proc.pid)
    finally:
        if watch is not None:
            watch.stopping(proc)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
