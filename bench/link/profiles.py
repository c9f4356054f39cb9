"""Link profiles: the profile table of docs/links.md as data, and profile → toxics.

Theory of operation
-------------------
``profiles.yaml`` holds the table (numbers and their sources); this module
loads it into frozen :class:`Profile` objects and turns one into the toxics a
proxy needs, at a time scale K (latency ÷ K, bandwidth × K)::

    RTT 500 ms, 50/20 kbps ──► latency 250 ms each way (+ jitter/2 each way)
                               bandwidth 50/8 = 6.25 KB/s down, 2.5 KB/s up
    offline   ──► proxy disabled (no toxics)
    base_rtt_ms ──► the path's own round trip (client + proxy hop + server on
                    loopback, measured) comes off the added latency, half each way
    blackhole ──► timeout toxic, timeout 0, both ways
    flaky     ──► … + reset_peer on a fraction (toxicity) of connections

Loss over TCP cannot be dropped packets (TCP would resend them). A lossy
profile is modelled by what loss does to an application over TCP (links.md):
each lost segment costs one retransmission timeout, so a loss rate p adds
p × RTO of delay per direction on average (as latency and as jitter of the
same size) and takes p off the goodput. It is not packet-level fidelity.

The path under the proxy is not free: an HTTP exchange over loopback costs
the machine a few milliseconds of its own (client stack, proxy hop, server),
which at K = 60 reads as a fifth of a spec second on every request. As a
network emulator on a real path adds only the delay the path lacks (netem
delay = target RTT minus the path's measured RTT), ``base_rtt_ms`` -- that
measured cost (``bench.real.calibrate``) -- is taken off the scaled latency,
so an exchange takes RTT / K in all, not RTT / K plus the machine's time.
"""

from __future__ import annotations

import dataclasses
import functools
from importlib import resources
from typing import Any

import yaml

from bench.trace import LINK_CLASSES, is_slow

# Toxics a profile puts on a proxy are named with this prefix, so that
# applying another profile replaces them and leaves a user's own toxics alone.
TOXIC_PREFIX = "link_"
# links.md: "550 kbps is the sensible slow/fast line" for a client that
# classifies by measured throughput (Facebook network-connection-class).
SLOW_FAST_LINE_KBPS = 550
# RFC 6298 §2.4: "if it is less than 1 second, then the RTO SHOULD be rounded
# up to 1 second"; RTO = SRTT + 4·RTTVAR, with the jitter standing for RTTVAR.
MIN_RTO_MS = 1000
MODES = ("shaped", "offline", "blackhole")
_FIELDS = {"class", "mode", "down_kbps", "up_kbps", "rtt_ms", "jitter_ms", "loss_pct", "reset",
           "faults", "source", "base"}


class ProfileError(ValueError):
    """A profile that does not exist or a profiles file that does not parse."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """What one direction of a shaped profile does, in spec (unscaled) units."""

    latency_ms: float  # one way
    jitter_ms: float  # one way, uniform ±
    rate_kbps: float


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    name: str
    link_class: str
    mode: str = "shaped"
    down_kbps: float | None = None
    up_kbps: float | None = None
    rtt_ms: float | None = None
    jitter_ms: float = 0
    loss_pct: float = 0
    reset_toxicity: float = 0
    reset_after_ms: float = 0
    faults: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if self.link_class not in LINK_CLASSES:
            raise ProfileError(f"profile {self.name!r}: class {self.link_class!r} is not a trace link class")
        if self.mode not in MODES:
            raise ProfileError(f"profile {self.name!r}: mode must be one of {', '.join(MODES)}")
        if self.mode == "shaped" and None in (self.down_kbps, self.up_kbps, self.rtt_ms):
            raise ProfileError(f"profile {self.name!r}: a shaped profile needs down_kbps, up_kbps and rtt_ms")
        if not 0 <= self.loss_pct < 100 or not 0 <= self.reset_toxicity <= 1:
            raise ProfileError(f"profile {self.name!r}: loss_pct or reset toxicity out of range")

    @property
    def slow(self) -> bool:
        """Slow by the link type the OS reports (trace.md: slow = 2g, gprs, edge)."""
        return is_slow(self.link_class)

    @property
    def online(self) -> bool:
        return self.link_class != "offline"

    @property
    def slow_by_throughput(self) -> bool | None:
        """Slow by measured downlink (< 550 kbps); None when nothing flows."""
        return None if self.down_kbps is None else self.down_kbps < SLOW_FAST_LINE_KBPS

    @property
    def rto_ms(self) -> float:
        return max(MIN_RTO_MS, (self.rtt_ms or 0) + 4 * self.jitter_ms)

    def shape(self, direction: str) -> Shape:
        """The effective shaping of ``"down"`` or ``"up"``, loss model included."""
        if self.mode != "shaped":
            raise ProfileError(f"profile {self.name!r} carries no data ({self.mode})")
        loss = self.loss_pct / 100
        penalty = loss * self.rto_ms
        kbps = self.down_kbps if direction == "down" else self.up_kbps
        return Shape(latency_ms=self.rtt_ms / 2 + penalty, jitter_ms=self.jitter_ms / 2 + penalty,
                     rate_kbps=kbps * (1 - loss))

    def toxics(self, time_scale: float = 1.0, *, integer_attributes: bool = False,
               base_rtt_ms: float = 0.0) -> list[dict[str, Any]]:
        """The Toxiproxy toxics (API bodies) for this profile at time scale K.

        ``base_rtt_ms``: the path's own round trip in wall milliseconds, taken
        off the scaled latency (half per direction, never below zero; see the
        module docs).

        Latency, jitter (ms, to the µs) and rate (KB/s) are fractional, which
        the bench's server accepts; ``integer_attributes`` rounds them for a
        real toxiproxy-server, whose attributes are integers (rate at least 1),
        and leaves out the bench's extensions (``handshake``, ``burst``).
        An offline profile has no toxics: it is a disabled proxy.
        """
        k = time_scale
        num = (lambda x, least=0: max(least, round(x))) if integer_attributes else (
            lambda x, least=0: round(x, 3))
        if self.mode == "offline":
            return []
        if self.mode == "blackhole":
            return [_toxic("timeout", s, timeout=0) for s in ("downstream", "upstream")]
        out = []
        # What the latency cannot take off (a scaled round trip shorter than the
        # path's own) the bandwidth toxics give back as burst credit: an
        # exchange's big direction then saves it (the bench's proxy only).
        left_ms = 0.0 if integer_attributes else sum(
            max(0.0, base_rtt_ms / 2 - self.shape(d).latency_ms / k) for d in ("down", "up"))
        # A new connection's first request leaves after a handshake's round
        # trip: the upstream latency toxic holds it that long from the accept
        # (the bench's proxy only; toxiproxy-server ignores the attribute).
        rtt_ms = sum(self.shape(d).latency_ms for d in ("down", "up")) / k
        handshake = 0.0 if integer_attributes else round(rtt_ms, 3)
        for stream, direction in (("downstream", "down"), ("upstream", "up")):
            shape = self.shape(direction)
            latency = num(max(0.0, shape.latency_ms / k - base_rtt_ms / 2))
            jitter = num(shape.jitter_ms / k)
            extra = {"handshake": handshake} if handshake and stream == "upstream" else {}
            if latency or jitter or extra:
                out.append(_toxic("latency", stream, latency=latency, jitter=jitter, **extra))
            # kbps → KB/s (1 KB = 1000 bytes)
            rate = num(shape.rate_kbps / 8 * k, 1)
            burst = round(left_ms / 1000 * rate, 3)
            out.append(_toxic("bandwidth", stream, rate=rate, **({"burst": burst} if burst else {})))
        if self.reset_toxicity:
            out.append(_toxic("reset_peer", "downstream", toxicity=self.reset_toxicity,
                              timeout=round(self.reset_after_ms / k)))  # an integer upstream too
        return out


def _toxic(type_: str, stream: str, toxicity: float = 1.0, **attributes: Any) -> dict[str, Any]:
    return {"name": f"{TOXIC_PREFIX}{type_}_{stream}", "type": type_, "stream": stream,
            "toxicity": toxicity, "attributes": attributes}


def parse_profiles(data: Any, where: str = "profiles") -> dict[str, Profile]:
    """Profiles from the decoded YAML mapping; errors name the profile and field."""
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a mapping of profile names")
    out: dict[str, Profile] = {}
    for name, raw in data.items():
        if not isinstance(raw, dict):
            raise ProfileError(f"{where}: profile {name!r} must be a mapping")
        unknown = set(raw) - _FIELDS
        if unknown:
            raise ProfileError(f"{where}: profile {name!r}: unknown field {sorted(unknown)[0]!r}")
        fields = dict(data[raw["base"]]) if "base" in raw else {}
        if "base" in raw and not isinstance(data.get(raw["base"]), dict):
            raise ProfileError(f"{where}: profile {name!r}: base {raw['base']!r} not found")
        fields.update({k: v for k, v in raw.items() if k != "base"})
        reset = fields.pop("reset", None) or {}
        try:
            out[str(name)] = Profile(
                name=str(name), link_class=fields.pop("class"),
                reset_toxicity=reset.get("toxicity", 0), reset_after_ms=reset.get("after_ms", 0),
                **fields)
        except (KeyError, TypeError) as exc:
            raise ProfileError(f"{where}: profile {name!r}: {exc}") from None
    return out


@functools.cache
def profiles() -> dict[str, Profile]:
    """The shipped profiles, by name, in table order."""
    text = resources.files("bench.link").joinpath("profiles.yaml").read_text()
    return parse_profiles(yaml.safe_load(text), "bench/link/profiles.yaml")


def get_profile(name: str | Profile) -> Profile:
    if isinstance(name, Profile):
        return name
    found = profiles().get(name)
    if found is None:
        raise ProfileError(f"unknown link profile {name!r} (known: {', '.join(profiles())})")
    return found


# -- the table -------------------------------------------------------------------
COLUMNS = ("profile", "class (trace)", "by throughput", "down kbps", "up kbps", "RTT ms",
           "jitter ms", "loss %", "faults", "source of the numbers")


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}"


def table_rows() -> list[dict[str, str]]:
    rows = []
    for p in profiles().values():
        speed = "" if not p.online else " (slow)" if p.slow else " (fast)"
        by_tp = p.slow_by_throughput
        rows.append(dict(zip(COLUMNS, (
            p.name, p.link_class + speed, "—" if by_tp is None else "slow" if by_tp else "fast",
            _num(p.down_kbps), _num(p.up_kbps), _num(p.rtt_ms),
            _num(p.jitter_ms if p.mode == "shaped" else None),
            _num(p.loss_pct) if p.loss_pct else "—", p.faults or "—", p.source), strict=True)))
    return rows


def markdown_table() -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row.values()) + " |" for row in table_rows()]
    return "\n".join(lines) + "\n"


def text_table() -> str:
    cols = COLUMNS[:-1]
    rows = [[row[c] for c in cols] for row in table_rows()]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r).rstrip() for r in [list(cols), *rows]) + "\n"


if __name__ == "__main__":  # pragma: no cover - `python -m bench.link.profiles`
    print(markdown_table(), end="")
