"""The scenario as typed, frozen configuration.

Theory of operation: a scenario file (``scenarios/*.yaml``, docs/scenarios.md)
is read and validated once by :mod:`bench.scenario.load` and becomes one
:class:`Scenario`; nothing downstream reads YAML or guesses defaults again
("configuration enters once"). Every dataclass here is frozen, slotted and
keyword-only; the loader has already checked every value, so these classes
only hold data. The same format describes a simulated fleet and, later, a
real run: a device is an id, a client (policy or mutant), a link source
(explicit steps or a mobility preset) and a behaviour (a preset person, or
explicit timed steps).

Times are spec seconds from the start of the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

DIST_KINDS = ("const", "exp", "uniform", "lognormal")


@dataclass(frozen=True, slots=True, kw_only=True)
class Dist:
    """A distribution of a positive quantity, sampled with an injected RNG.

    ``const`` (``a`` = value), ``exp`` (``a`` = mean), ``uniform`` (``a``..``b``),
    ``lognormal`` (``a`` = median, ``b`` = sigma of the log); ``cap`` bounds a
    sample from above (None: unbounded).
    """

    kind: str
    a: float
    b: float = 0.0
    cap: float | None = None

    def sample(self, rng: Any) -> float:
        k = self.kind
        if k == "const":
            x = self.a
        elif k == "exp":
            x = rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        elif k == "uniform":
            x = rng.uniform(self.a, self.b)
        else:
            x = self.a * math.exp(rng.gauss(0.0, self.b))
        return x if self.cap is None or x <= self.cap else self.cap

    @property
    def mean(self) -> float:
        """The mean before capping (for docs, reports and queue theory)."""
        if self.kind in ("const", "exp"):
            return self.a
        if self.kind == "uniform":
            return (self.a + self.b) / 2
        return self.a * math.exp(self.b * self.b / 2)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One timed happening on a device: exactly one of the kinds below.

    ``link`` (value: profile name), ``app`` (value: opened/minimized/restored/
    closed), ``edit`` (value: text/photo/status; ``record``, ``status``,
    ``bytes``, ``text``), ``manual`` (value: via or ""), ``snapshot``.
    """

    t: float
    kind: str
    value: str = ""
    record: str | None = None
    status: str | None = None
    bytes: int | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    id: str
    client: str  # planado, playmaker or a client mutant name (reference_client.mutants)
    link: str  # profile at t=0 when no step at t=0 says otherwise
    mobility: str | None = None  # a mobility preset; None: the link follows the steps only
    behaviour: str | None = None  # a behaviour preset; None: the steps only
    push: bool = True  # push notifications enabled on the device
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetSpec:
    """Devices generated from mixes: ``size`` of them, ids ``{prefix}{n}``."""

    size: int = 0
    prefix: str = "w"
    client: str | None = None  # None: the scenario's policy
    link: str = "lte"
    mobility: tuple[tuple[str, float], ...] = (("urban", 1.0),)
    behaviour: tuple[tuple[str, float], ...] = (("field_worker", 1.0),)
    push_off: float = 0.0  # fraction of devices with push notifications off
    steps: tuple[Step, ...] = ()  # a timeline every generated device follows too

    def ids(self) -> list[str]:
        """The generated device ids: ``w0001``, ``w0002``... (at least four digits)."""
        width = max(4, len(str(self.size)))
        return [f"{self.prefix}{i:0{width}d}" for i in range(1, self.size + 1)]


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatchStep:
    """A dispatcher operation at ``t`` (trace.md ``dispatch``)."""

    t: float
    op: str
    record: str
    assignee: str | None = None
    status: str | None = None
    file: str | None = None
    bytes: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DispatcherSpec:
    """Random dispatcher activity; rates are per device per hour."""

    jobs_at_start: int = 0
    create_per_h: float = 0.0
    edit_per_h: float = 0.0
    status_per_h: float = 0.0
    attach_per_h: float = 0.0
    attach_bytes: Dist = field(default_factory=lambda: Dist(kind="const", a=200_000))


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSpec:
    workers: int = 4
    service_s: Dist = field(default_factory=lambda: Dist(kind="exp", a=0.02))
    mutant: str | None = None
    outages: tuple[tuple[float, float], ...] = ()  # syncs answered then fail (HTTP 503)
    lost_responses: tuple[tuple[float, float], ...] = ()  # applied, the answer is lost


@dataclass(frozen=True, slots=True, kw_only=True)
class PushSpec:
    enabled: bool = True
    delay_s: Dist = field(default_factory=lambda: Dist(kind="uniform", a=0.2, b=2.0))
    ttl_s: float = 0.0  # 0: a push to an offline device is dropped; >0: stored that long
    mutant: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    name: str
    policy: str
    description: str = ""
    seed: int = 0
    duration_s: float = 3600.0
    settle_s: float = 600.0
    settle_link: str = "wifi"
    params: dict[str, float] = field(default_factory=dict)
    devices: tuple[DeviceSpec, ...] = ()
    fleet: FleetSpec = field(default_factory=FleetSpec)
    dispatch: tuple[DispatchStep, ...] = ()
    dispatcher: DispatcherSpec = field(default_factory=DispatcherSpec)
    server: ServerSpec = field(default_factory=ServerSpec)
    push: PushSpec = field(default_factory=PushSpec)
    expect: dict[str, str] = field(default_factory=dict)
    source: str = "<scenario>"

    @property
    def n_devices(self) -> int:
        return len(self.devices) + self.fleet.size

    def but(self, **changes: Any) -> Scenario:
        """A copy with some fields changed (CLI overrides, selftest variants)."""
        return replace(self, **changes)

    def with_overrides(self, *, devices: int | None = None, hours: float | None = None,
                       seed: int | None = None) -> Scenario:
        """``--devices N`` sets the generated fleet's size (explicit devices stay);
        ``--hours H`` the duration; ``--seed S`` the seed."""
        out = self
        if devices is not None:
            out = out.but(fleet=replace(out.fleet, size=max(0, devices - len(out.devices))))
        if hours is not None:
            out = out.but(duration_s=hours * 3600.0)
        if seed is not None:
            out = out.but(seed=seed)
        return out
