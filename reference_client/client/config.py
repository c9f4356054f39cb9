"""One typed configuration for a real device, built once from CLI flags or Python.

Theory of operation: STYLE.md "Configuration enters once": the command line
(``cli.py``), a runner's Python call or a test builds one
:class:`ClientConfig`; every other module of the driver takes it (or a few of
its fields) and never reads flags or the environment itself. The config
validates when built and raises ``ValueError("ClientConfig.field: ...")``,
which the CLI turns into a one-line usage error.

Times here are in *spec seconds* (spec/trace.md "Time scale") unless the name
ends in ``_wall_s``: the driver divides spec durations by ``time_scale`` to
get wall durations, and never lets a network timeout fall below the wall
floor a loaded machine needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

# spec/trace.md, `link` event vocabulary (the engine validates it again).
LINK_CLASSES = frozenset({"offline", "2g", "gprs", "edge", "3g", "hspa", "lte", "5g", "wifi"})
POLICY_NAMES = ("planado", "playmaker")

# spec/links.md "Time scale": "a 2-hour field day runs in 2 minutes" is K = 60;
# 1 means real time.
DEFAULT_TIME_SCALE = 1.0
# The largest K we accept: at 600 a 2-minute Planado timer fires every 0.2 s of
# wall time, about what an asyncio loop plus a SQLite commit per input can keep
# up with on a 2-core machine (spec/links.md: "refuse a K it cannot honour").
MAX_TIME_SCALE = 600.0
# How long one sync request may take in spec seconds before the device gives up
# (a phone's HTTP stack; OkHttp's default read timeout is 10 s, and a 500-change
# sync over GPRS needs several times that).
SYNC_TIMEOUT_S = 60.0
# A network wait never shrinks below this many wall seconds, however large K
# is: a loaded CI machine can stall a loopback answer for a second.
MIN_WALL_TIMEOUT_S = 5.0
# Upload chunk: one PATCH per chunk, each answered with the new offset; each
# answer is one FileProgress, one store commit. A cut chunk loses nothing
# (docs/protocol.md: "If the connection drops mid-body the bytes that arrived
# are kept"), so the size only sets how often progress is recorded: 256 KiB is
# about 10 s on EDGE's 200 kbps uplink, and keeps the per-request overhead of a
# large photo on a fast link small (four times the server's 64 KiB read size).
UPLOAD_CHUNK_BYTES = 256 * 1024
# Push listener reconnect backoff in spec seconds: first retry after 1 s,
# doubling to at most 60 s, with up to 10 % random jitter (the usual
# exponential backoff of mobile push clients, so a fleet does not reconnect in
# lockstep after an outage).
PUSH_BACKOFF_BASE_S = 1.0
PUSH_BACKOFF_MAX_S = 60.0
# Random seed when none is given: fixed, so two runs with the same flags give
# the same photo bytes and timer jitter (STYLE.md: "the same seed gives the
# same trace").
DEFAULT_SEED = 0
# Initial link class when the runner gives none on the command line.
DEFAULT_LINK = "wifi"


def _fail(name: str, msg: str) -> None:
    raise ValueError(f"ClientConfig.{name}: {msg}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientConfig:
    """Everything one device needs (see docs/client.md for each field)."""

    server: str
    token: str
    device: str
    policy: str = "planado"
    store: Path = Path("device-store")
    trace: Path | None = None
    time_scale: float = DEFAULT_TIME_SCALE
    trace_epoch: float | None = None  # wall seconds of t = 0; None: kept in the store
    mutant: str | None = None
    seed: int = DEFAULT_SEED
    measure_link: bool = False  # classify slow/fast by measured throughput too
    push: bool = True  # False: notifications off, the push socket is never opened
    upload_chunk: int = UPLOAD_CHUNK_BYTES
    sync_timeout_s: float = SYNC_TIMEOUT_S
    min_wall_timeout_s: float = MIN_WALL_TIMEOUT_S

    def __post_init__(self) -> None:
        if not isinstance(self.server, str) or not self.server.startswith(("http://", "https://")):
            _fail("server", f"must be an http:// or https:// URL, got {self.server!r}")
        for name in ("token", "device"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                _fail(name, f"must be a non-empty string, got {value!r}")
        if self.policy not in POLICY_NAMES:
            _fail("policy", f"must be one of {', '.join(POLICY_NAMES)}, got {self.policy!r}")
        if not isinstance(self.store, Path):
            object.__setattr__(self, "store", Path(self.store))
        if self.trace is not None and not isinstance(self.trace, Path):
            object.__setattr__(self, "trace", Path(self.trace))
        k = self.time_scale
        if type(k) not in (int, float) or not math.isfinite(k) or not 0 < k <= MAX_TIME_SCALE:
            _fail("time_scale", f"must be a number in (0, {MAX_TIME_SCALE:g}], got {k!r}")
        if self.trace_epoch is not None and (type(self.trace_epoch) not in (int, float)
                                             or not math.isfinite(self.trace_epoch)):
            _fail("trace_epoch", f"must be a finite number, got {self.trace_epoch!r}")
        for name in ("measure_link", "push"):
            if type(getattr(self, name)) is not bool:
                _fail(name, f"must be a bool, got {getattr(self, name)!r}")
        if type(self.seed) is not int:
            _fail("seed", f"must be an int, got {self.seed!r}")
        if type(self.upload_chunk) is not int or self.upload_chunk <= 0:
            _fail("upload_chunk", f"must be a positive int, got {self.upload_chunk!r}")
        for name in ("sync_timeout_s", "min_wall_timeout_s"):
            value = getattr(self, name)
            if type(value) not in (int, float) or not value > 0:
                _fail(name, f"must be a positive number, got {value!r}")

    @property
    def push_url(self) -> str:
        """The WebSocket URL of ``/v1/push`` on the same server."""
        base = self.server.rstrip("/")
        return "ws" + base[len("http"):] + "/v1/push"

    def wall_timeout(self, spec_s: float) -> float:
        """A spec-time network timeout in wall seconds, never below the floor."""
        return max(spec_s / self.time_scale, self.min_wall_timeout_s)
