"""Which process of a real run died, when, and where its log is.

Theory of operation: a real run starts the reference server and the link proxy
as child processes. If one of them dies mid-run, every device sees a refused
connection and the run would end in a traceback from whichever request came
next (the dispatcher's snapshot, a toxic update). Instead each child is
*watched*: a daemon thread blocks in ``Popen.wait()`` and notes the wall time it
returned. The run polls :meth:`Watch.death` while it plays and once more when it
ends; a death becomes one :class:`~bench.real.plan.RealRunError` line --
"reference server (pid 4242) died at t=84.2 s of the run (killed by SIGKILL);
its log: reports/.../server.log". A child the run stops itself is first marked
:meth:`Watch.stopping`, so its exit is no death.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Death:
    name: str
    pid: int
    returncode: int
    wall: float  # time.time() when it was seen gone
    log: Path | None

    def how(self) -> str:
        if self.returncode < 0:
            try:
                return f"killed by {signal.Signals(-self.returncode).name}"
            except ValueError:
                return f"killed by signal {-self.returncode}"
        return f"exit {self.returncode}"

    def line(self, *, t0: float | None, k: float, log: Path | None = None) -> str:
        # t0 is chosen a lead's moment ahead of the first step: a death in that
        # lead is at the run's start, t = 0.
        when = (f"at t={max(0.0, self.wall - t0) * k:.1f} s of the run" if t0 is not None
                else "before the run started")
        where = log or self.log
        return (f"{self.name} (pid {self.pid}) died {when} ({self.how()})"
                + (f"; its log: {where}" if where is not None else ""))


class Watch:
    """Children of one run, each watched for an exit the run did not ask for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deaths: list[Death] = []
        self._stopping: set[int] = set()
        self.t0: float | None = None  # the run's epoch (wall), once chosen

    def add(self, name: str, proc: subprocess.Popen, log: Path | None = None) -> None:
        def wait() -> None:
            code = proc.wait()
            with self._lock:
                if proc.pid not in self._stopping:
                    self._deaths.append(Death(name=name, pid=proc.pid, returncode=code,
                                              wall=time.time(), log=log))

        threading.Thread(target=wait, name=f"watch-{name}", daemon=True).start()

    def stopping(self, proc: subprocess.Popen) -> None:
        """The run is about to stop ``proc`` itself: its exit is expected."""
        with self._lock:
            self._stopping.add(proc.pid)

    def death(self) -> Death | None:
        """The first unexpected exit seen so far, if any."""
        with self._lock:
            return self._deaths[0] if self._deaths else None


def ready_line(proc: subprocess.Popen, pattern: Any, timeout_s: float) -> Any:
    """The first match of ``pattern`` (a compiled bytes regex) in ``proc``'s stdout,
    read on a daemon thread so a child that never says it is ready cannot hang the
    run; None after ``timeout_s``."""
    found: list[Any] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            m = pattern.search(line)
            if m:
                found.append(m)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    return found[0] if found else None
