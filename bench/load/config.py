"""One typed configuration for a load run, built once from the command line.

Theory of operation: ``syncbench load`` reads its flags in one place
(:func:`bench.cli.cmd_load`) and builds a :class:`LoadConfig`; everything after
that -- the controller, the Locust users in this process or in worker
processes, the report -- reads this one object. Workers receive it as a plain
dict over Locust's message channel (:meth:`LoadConfig.to_dict` /
:meth:`LoadConfig.from_dict`), so a worker on another machine needs only the
code and ``--master-host``.

This module imports neither ``locust`` nor ``gevent``: the CLI and the tests
build and validate configs without the monkey-patching that importing Locust
does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# Fleet size when --devices is not given: big enough to load the server a
# little, small enough for a laptop's single generator process.
DEFAULT_DEVICES = 50
# Users started per second (Locust's --spawn-rate); Locust's own default is 1,
# which would take minutes to bring up a fleet.
DEFAULT_SPAWN_RATE = 50.0
# Wall seconds of a run (Locust's --run-time); long enough for several synced
# cadence periods at --time-scale 10.
DEFAULT_DURATION_S = 60.0
# docs/engine.md: "a real-time driver at time scale K multiplies elapsed wall
# seconds by K"; 1 is real time, the 2-minute cadence in 2 minutes.
DEFAULT_TIME_SCALE = 1.0
DEFAULT_POLICY = "planado"
DEFAULT_PROFILE = "steady"
DEFAULT_SEED = 1
# Link classes a fleet reports, as a weighted mix (spec/links.md classes). Loads
# are not shaped by the generator (bench.link does that); the class decides what
# the engine does, e.g. Planado moves no files on 2g/gprs/edge.
DEFAULT_LINK_MIX: tuple[tuple[str, float], ...] = (
    ("wifi", 0.3), ("lte", 0.4), ("3g", 0.15), ("edge", 0.15))
# Mean spec seconds between two acts of a field worker: the simulator's
# field_worker preset ("a 9-hour shift, a dozen acts an hour").
DEFAULT_ACT_MEAN_S = 300.0
# A job photo as field apps upload it: resized to about 1280 px, some 400 KB
# JPEG median (the simulator's photo size). The load generator sends this size
# (no tail) to keep its own CPU cost predictable.
DEFAULT_PHOTO_BYTES = 400_000
# Dispatcher operations per device per spec hour: a handful of job changes a
# day each (create, edit, status), as in the shipped scenarios' dispatcher.
DEFAULT_DISPATCH_PER_DEVICE_H = 1.0
# Jobs seeded per device before the run, so edits and bursts have targets.
DEFAULT_JOBS_PER_DEVICE = 1

PROFILES = ("steady", "storm", "burst")
# What one load run may ask for, checked before anything starts: a Locust
# user is a few hundred KB, so 100,000 of them fill this machine; a day of
# wall time is longer than any CI or sizing run.
MAX_DEVICES = 100_000
MAX_DURATION_S = 86_400.0
MAX_TIME_SCALE = 10_000.0
MAX_RATE = 1e6
# The protocol's file limit (docs/protocol.md: 512 MiB).
MAX_PHOTO_BYTES = 512 * 1024 * 1024


class ConfigError(ValueError):
    """A config value is unusable; the message names the flag."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadConfig:
    """Everything a load run needs; ``tokens`` maps device id to its bearer token."""

    host: str = ""
    devices: int = DEFAULT_DEVICES
    spawn_rate: float = DEFAULT_SPAWN_RATE
    duration_s: float = DEFAULT_DURATION_S
    time_scale: float = DEFAULT_TIME_SCALE
    policy: str = DEFAULT_POLICY
    profile: str = DEFAULT_PROFILE
    workers: int = 0  # worker processes started here
    remote_workers: int = 0  # workers started on other machines, waited for
    # Address and port the master listens on for workers: loopback unless workers
    # run on other machines; port 0 picks a free one.
    master_bind: str = "127.0.0.1"
    master_port: int = 0
    seed: int = DEFAULT_SEED
    link_mix: tuple[tuple[str, float], ...] = DEFAULT_LINK_MIX
    act_mean_s: float = DEFAULT_ACT_MEAN_S
    photo_bytes: int = DEFAULT_PHOTO_BYTES
    dispatch_per_device_h: float = DEFAULT_DISPATCH_PER_DEVICE_H
    jobs_per_device: int = DEFAULT_JOBS_PER_DEVICE
    # Every device holds its push WebSocket while its app is open and online,
    # as a phone does; False: the dispatcher relays pushes inside Locust.
    push_sockets: bool = True
    # Wall clock (time.time()) of spec time 0 for every device: the profile's
    # moments (storm reconnect, burst) are offsets from it. Set by the controller
    # just before users start.
    epoch: float = 0.0
    tokens: dict[str, str] = field(default_factory=dict)
    dispatcher_token: str = ""

    def __post_init__(self) -> None:
        def bad(flag: str, msg: str) -> None:
            raise ConfigError(f"{flag} {msg}")

        if type(self.devices) is not int or self.devices < 1:
            bad("--devices", f"must be a positive integer, got {self.devices!r}")
        if self.devices > MAX_DEVICES:
            bad("--devices", f"{self.devices:,} is over the limit of {MAX_DEVICES:,}")
        for flag, value, hi in (("--spawn-rate", self.spawn_rate, MAX_RATE),
                                ("--duration", self.duration_s, MAX_DURATION_S),
                                ("--time-scale", self.time_scale, MAX_TIME_SCALE)):
            if not value > 0:
                bad(flag, f"must be positive, got {value!r}")
            if not value <= hi:
                bad(flag, f"{value:g} is over the limit of {hi:g}")
        if self.profile not in PROFILES:
            bad("--profile", f"must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        if type(self.workers) is not int or self.workers < 0:
            bad("--workers", f"must be >= 0, got {self.workers!r}")
        if type(self.remote_workers) is not int or self.remote_workers < 0:
            bad("--remote-workers", f"must be >= 0, got {self.remote_workers!r}")
        if type(self.master_port) is not int or not 0 <= self.master_port <= 65535:
            bad("--master-port", f"must be 0..65535, got {self.master_port!r}")
        if self.remote_workers and not self.host:
            bad("--remote-workers", "needs --host: workers on other machines cannot reach a "
                "server this machine starts on 127.0.0.1")
        if self.remote_workers and not self.master_port:
            bad("--remote-workers", "needs --master-port: remote workers must know where to "
                "connect")
        if self.photo_bytes < 1:
            bad("--photo-bytes", f"must be positive, got {self.photo_bytes!r}")
        if self.photo_bytes > MAX_PHOTO_BYTES:
            bad("--photo-bytes", f"{self.photo_bytes:,} is over the protocol's limit of "
                f"{MAX_PHOTO_BYTES:,} bytes")
        if not 0 <= self.dispatch_per_device_h <= MAX_RATE:
            bad("--dispatch-rate", f"must be 0..{MAX_RATE:g}, got {self.dispatch_per_device_h!r}")
        from reference_client import get_policy

        try:
            get_policy(self.policy)
        except (KeyError, ValueError):
            bad("--policy", f"unknown policy {self.policy!r}")

    @property
    def all_workers(self) -> int:
        """Worker processes of the run, here and elsewhere (0: one local process)."""
        return self.workers + self.remote_workers

    def replace(self, **changes: Any) -> LoadConfig:
        return dataclasses.replace(self, **changes)

    def device_ids(self) -> list[str]:
        """Device ids in the order users take them (``tokens`` insertion order)."""
        return list(self.tokens)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["link_mix"] = [list(x) for x in self.link_mix]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoadConfig:
        d = dict(d)
        d["link_mix"] = tuple((str(c), float(w)) for c, w in d.get("link_mix", DEFAULT_LINK_MIX))
        return cls(**d)
