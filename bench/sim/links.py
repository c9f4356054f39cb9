"""Link profiles as the simulator sees them, and the transfer-time math.

Theory of operation: a simulated transfer takes half a round trip, plus the
bytes over the direction's bandwidth, plus jitter drawn from the injected RNG::

    one_way(bytes, dir) = rtt/2 + U(-jitter/2, +jitter/2) + bytes*8 / (kbps*1000)

A request/response exchange is ``one_way(request, up) + service +
one_way(response, down)``. The numbers are the one link profile table,
``bench.link.profiles`` (spec/links.md as data), the same the proxy shapes
real links with.
Loss is modelled as bench.link models it over TCP: the profile's effective
``shape`` adds delay and takes goodput off (spec/links.md, "Emulating packet
loss over TCP"); a profile with ``reset`` toxicity resets that fraction of
connections (the exchange fails).

Modes: ``shaped`` carries data; ``offline`` refuses new connections and cuts
open ones (spec/links.md: "new connections refused, open ones cut");
``blackhole`` lets connections hang until the client's own timeout ("connections
hang, nothing arrives").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.link.profiles import profiles as link_profiles

SHAPED, OFFLINE, BLACKHOLE = "shaped", "offline", "blackhole"


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkProfile:
    """One profile in simulator units (seconds, bytes per second)."""

    name: str
    link_class: str  # what the OS reports (trace `link` class)
    mode: str = SHAPED
    down_bps: float = 0.0  # bytes per second
    up_bps: float = 0.0
    one_way_s: float = 0.0  # half the RTT, plus the loss penalty
    jitter_s: float = 0.0  # one way, uniform +-jitter_s/2... see one_way()
    reset: float = 0.0  # fraction of exchanges reset by the link

    @property
    def online(self) -> bool:
        return self.mode == SHAPED

    def transfer_s(self, nbytes: float, direction: str, rng: Any | None) -> float:
        """Seconds for ``nbytes`` to cross one way (``up`` or ``down``)."""
        rate = self.up_bps if direction == "up" else self.down_bps
        t = self.one_way_s + nbytes / rate
        if self.jitter_s and rng is not None:
            t += rng.uniform(-self.jitter_s, self.jitter_s)
        return t if t > 0.0 else 0.0


def _table() -> dict[str, LinkProfile]:
    out = {}
    for name, p in link_profiles().items():
        if p.mode != SHAPED:
            out[name] = LinkProfile(name=name, link_class=p.link_class, mode=p.mode)
            continue
        down, up = p.shape("down"), p.shape("up")
        out[name] = LinkProfile(name=name, link_class=p.link_class, down_bps=down.rate_kbps * 125,
                                up_bps=up.rate_kbps * 125, one_way_s=down.latency_ms / 1000,
                                jitter_s=down.jitter_ms / 1000, reset=p.reset_toxicity)
    return out


_TABLE: dict[str, LinkProfile] | None = None


def profiles() -> dict[str, LinkProfile]:
    """Every known profile by name, in simulator units (the one profile table:
    ``bench/link/profiles.yaml``)."""
    global _TABLE
    if _TABLE is None:
        _TABLE = _table()
    return _TABLE


def source() -> str:
    """Where the profile numbers came from (for reports)."""
    return "bench.link.profiles"


def get(name: str) -> LinkProfile:
    table = profiles()
    if name not in table:
        raise KeyError(f"unknown profile {name!r} (known: {', '.join(table)})")
    return table[name]
