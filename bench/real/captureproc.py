"""The capture proxy in its own process, in front of every device of a real run.

Theory of operation: ``run_real_item(..., capture=True)`` puts
``syncbench capture --route VIA ...`` (mitmproxy, bench.capture) between each
device and its link proxy: one listener per device, whose server connections
cross that device's link proxy, so the capture sees what the device sees.
It runs in a process of its own for the reason the link proxy does (it
touches every byte, and must not take the devices' event loop's core). The
listeners are read from its first line; at the end it is stopped with
SIGTERM and writes ``capture.har`` beside its live ``flows.jsonl``.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.real.watch import Watch, ready_line

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
_READY = re.compile(rb"capture listening ((?:\S+:\d+ ?)+)")


@dataclass
class CaptureProcess:
    addresses: list[str]
    out: Path
    proc: subprocess.Popen
    watch: Watch | None = None
    stopped: bool = field(default=False)

    def stop(self) -> None:
        """SIGTERM, wait for its HAR; SIGKILL if it hangs."""
        if self.stopped:
            return
        self.stopped = True
        if self.watch is not None:
            self.watch.stopping(self.proc)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextlib.contextmanager
def capture_process(upstream: str, vias: list[str], out: Path, *, k: float = 1.0,
                    log: Path | None = None, watch: Watch | None = None
                    ) -> Iterator[CaptureProcess]:
    """Start the capture with one listener per ``via`` (HOST:PORT of a link proxy)."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "bench", "capture", "--upstream", upstream, "--out", str(out),
           "--listen", "127.0.0.1:0", "--confdir", str(out / "mitmproxy"), "--no-check",
           "--quiet", "--time-scale", repr(k)]
    for v in vias:
        cmd += ["--route", v]
    err = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
    if log is not None:
        err.close()
    cap = None
    try:
        m = ready_line(proc, _READY, START_TIMEOUT_S)
        if m is None:
            last = ""
            if log is not None and log.exists():
                lines = log.read_text(errors="replace").strip().splitlines()
                last = f": {lines[-1]}" if lines else ""
            raise RuntimeError(f"capture proxy did not start (exit {proc.poll()}){last}")
        addresses = m.group(1).decode().split()
        if watch is not None:
            watch.add("capture proxy", proc, log)
        cap = CaptureProcess(addresses=addresses, out=out, proc=proc, watch=watch)
        yield cap
    finally:
        if cap is not None:
            cap.stop()
        elif proc.poll() is None:
            proc.kill()
            proc.wait()
