"""Link timelines: explicit steps, or a Markov mobility model that generates them.

Theory of operation (sans-I/O: no clock, no sockets; randomness injected)
-------------------------------------------------------------------------
A timeline is a tuple of :class:`Step` (``t`` in spec seconds, a profile
name), sorted by ``t``, the first at ``t = 0``. A :class:`MobilityModel` is a
Markov chain over profiles: the device stays on a profile for an exponential
dwell with the profile's mean, then moves to a next profile drawn by weight::

    wifi ──(dwell ~ Exp(1800 s))──► lte ──(dwell ~ Exp(900 s))──► 3g ── …

``model.steps(rng, duration_s)`` turns it into a timeline with the caller's
``random.Random``, so the same seed gives the same day. The presets (urban,
suburban, rural, underground) are data in ``mobility.yaml``. The driver
(``bench.link.driver``) plays a timeline against a proxy.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from collections.abc import Iterable, Mapping
from importlib import resources
from types import MappingProxyType

import yaml

from bench.draw import weighted
from bench.link.profiles import ProfileError, get_profile


class TimelineError(ValueError):
    """A timeline or mobility model that cannot be played."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """From spec time ``t`` on, the link is ``profile``."""

    t: float
    profile: str

    def __post_init__(self) -> None:
        if not isinstance(self.t, int | float) or self.t < 0:
            raise TimelineError(f"step time must be a number >= 0, got {self.t!r}")
        try:
            get_profile(self.profile)
        except ProfileError as exc:
            raise TimelineError(f"step at t={self.t:g}: {exc}") from None


def timeline(steps: Iterable[Step | tuple[float, str]]) -> tuple[Step, ...]:
    """A checked timeline from ``Step``s or ``(t, profile)`` pairs."""
    out = tuple(s if isinstance(s, Step) else Step(t=s[0], profile=s[1]) for s in steps)
    if not out:
        raise TimelineError("a timeline needs at least one step")
    if out[0].t != 0:
        raise TimelineError(f"a timeline starts at t=0, the first step is at t={out[0].t:g}")
    for a, b in zip(out, out[1:], strict=False):
        if b.t < a.t:
            raise TimelineError(f"timeline goes back in time: t={b.t:g} after t={a.t:g}")
    return out


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class MobilityModel:
    name: str
    start: str
    dwell_s: Mapping[str, float]
    next: Mapping[str, Mapping[str, float]]
    # Each profile's next row as (pairs, their sum), made once (move, every dwell).
    moves: Mapping[str, tuple[tuple[tuple[str, float], ...], float]] = dataclasses.field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._check()
        rows = {p: tuple(row.items()) for p, row in self.next.items()}
        object.__setattr__(self, "moves", {p: (pairs, sum(w for _, w in pairs))
                                           for p, pairs in rows.items()})

    def _check(self) -> None:
        where = f"mobility model {self.name!r}"
        if not self.dwell_s and not self.next:  # static: stays on its start
            try:
                get_profile(self.start)
            except ProfileError as exc:
                raise TimelineError(f"{where}: {exc}") from None
            return
        for profile in {self.start, *self.dwell_s, *self.next,
                        *(p for row in self.next.values() for p in row)}:
            try:
                get_profile(profile)
            except ProfileError as exc:
                raise TimelineError(f"{where}: {exc}") from None
        for profile in {self.start, *(p for row in self.next.values() for p in row)}:
            if profile not in self.dwell_s or profile not in self.next:
                raise TimelineError(f"{where}: profile {profile!r} needs a dwell_s and a next row")
            if not self.dwell_s[profile] > 0 or not any(w > 0 for w in self.next[profile].values()):
                raise TimelineError(f"{where}: profile {profile!r} needs dwell_s > 0 and a next weight > 0")

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(self.dwell_s) or (self.start,)

    @property
    def static(self) -> bool:
        return not self.dwell_s

    def first(self, own: str | None = None) -> str:
        """The profile a device starts on: its own link when the chain has it, else ``start``."""
        return own if own is not None and (own in self.dwell_s or self.static) else self.start

    def dwell(self, profile: str, rng: random.Random) -> float:
        """How long a device stays on ``profile``: exponential with the profile's mean."""
        return rng.expovariate(1.0 / self.dwell_s[profile])

    def move(self, profile: str, rng: random.Random) -> str:
        """The profile a device leaving ``profile`` moves to, drawn by weight."""
        pairs, total = self.moves[profile]
        return weighted(pairs, rng, total)

    def steps(self, rng: random.Random, duration_s: float, own: str | None = None) -> tuple[Step, ...]:
        """A timeline of ``duration_s`` spec seconds drawn with ``rng``, starting on
        :meth:`first` of ``own``. The simulator walks the same chain with the same
        draws (dwell, then move), so sim and real see one day."""
        t, current = 0.0, self.first(own)
        out = [Step(t=0.0, profile=current)]
        if self.static:
            return tuple(out)
        while True:
            t += self.dwell(current, rng)
            if t >= duration_s:
                return tuple(out)
            current = self.move(current, rng)
            out.append(Step(t=t, profile=current))


def parse_models(data: object, where: str = "mobility") -> dict[str, MobilityModel]:
    if not isinstance(data, dict):
        raise TimelineError(f"{where}: expected a mapping of model names")
    out = {}
    for name, raw in data.items():
        try:
            out[name] = MobilityModel(
                name=name, start=raw["start"], dwell_s=MappingProxyType(dict(raw["dwell_s"])),
                next=MappingProxyType({k: MappingProxyType(dict(v)) for k, v in raw["next"].items()}))
        except (KeyError, TypeError, AttributeError) as exc:
            raise TimelineError(f"{where}: model {name!r}: missing or malformed {exc}") from None
    return out


@functools.cache
def presets() -> dict[str, MobilityModel]:
    """The shipped mobility presets: urban, suburban, rural, underground, static.

    The one mobility table of the bench: the simulator, the real runner and
    ``syncbench link mobility`` all draw from it."""
    text = resources.files("bench.link").joinpath("mobility.yaml").read_text()
    return parse_models(yaml.safe_load(text), "bench/link/mobility.yaml")


def markdown_presets() -> str:
    """The presets as a Markdown table (docs/links.md), with the largest K each allows."""
    from bench.link.timescale import max_time_scale

    lines = ["| preset | starts on | profiles (mean dwell, s) | largest K |", "|---|---|---|---|"]
    for name, model in presets().items():
        if model.static:
            lines.append(f"| {name} | its own link | stays there all day | — |")
            continue
        dwell = ", ".join(f"{p} ({d:g})" for p, d in model.dwell_s.items())
        k = min(max_time_scale(p) for p in model.profiles)
        lines.append(f"| {name} | {model.start} | {dwell} | {k:g} |")
    return "\n".join(lines) + "\n"


def get_model(name: str) -> MobilityModel:
    found = presets().get(name)
    if found is None:
        raise TimelineError(f"unknown mobility preset {name!r} (known: {', '.join(presets())})")
    return found
