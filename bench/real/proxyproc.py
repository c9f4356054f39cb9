"""The link proxy in its own process, so shaping does not share a core with devices.

Theory of operation: the proxy carries every byte of every device and times
it (latency, bandwidth slices); in the devices' process it would compete with
their event loops for the interpreter lock and transfers would miss their
scaled targets. So when neither ``TOXIPROXY_URL`` nor a ``toxiproxy-server``
binary is there (``bench.link.resolve``'s order), the run starts the bench's
own proxy server as ``python -m bench toxiproxy serve --port 0`` and reads the
API URL from its first line. It is stopped (SIGTERM, then SIGKILL) when the
block ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bench.link.resolve import BINARY, ENV_URL, Endpoint, resolve_toxiproxy
from bench.real.watch import Watch, ready_line

# The proxy server starts in well under a second; a loaded CI machine may need more.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
_READY = re.compile(rb"API on (http://\S+) \(seed (\d+)\)")


@contextlib.contextmanager
def link_proxy(seed: int | None, *, log: Path | None = None,
               watch: Watch | None = None) -> Iterator[Endpoint]:
    """Yield the Toxiproxy endpoint of the run (see module docs).

    ``log``: where our proxy process's stderr goes (default: nowhere);
    ``watch``: notes its death should it exit before the block ends."""
    if os.environ.get(ENV_URL) or shutil.which(BINARY):
        with resolve_toxiproxy(seed=seed) as endpoint:
            yield endpoint
        return
    cmd = [sys.executable, "-m", "bench", "toxiproxy", "serve", "--port", "0"]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    if log is not None:
        with open(log, "wb") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)
    else:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        m = ready_line(proc, _READY, START_TIMEOUT_S)
        if m is None:
            raise RuntimeError(f"link proxy server did not start (exit {proc.poll()})")
        if watch is not None:
            watch.add("link proxy", proc, log)
        yield Endpoint(url=m.group(1).decode(), kind="builtin-process", seed=int(m.group(2)))
    finally:
        if watch is not None:
            watch.stopping(proc)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
