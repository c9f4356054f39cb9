"""A small seeded random generator for each simulated device.

Theory of operation: every device needs its own random stream (so that adding
a device leaves the others' days unchanged), and a fleet may hold 100,000
devices. ``random.Random`` carries a 2.5 KB Mersenne Twister state, 250 MB for
such a fleet; :class:`DeviceRandom` carries one 64-bit integer. It is
SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
generators", OOPSLA 2014; the generator Java's ``SplittableRandom`` uses),
seeded from a SHA-256 of a text key so that the key ``"7/w0001"`` always gives
the same stream. It offers the slice of ``random.Random`` the simulator and
the engine draw from: ``random``, ``uniform``, ``expovariate``, ``gauss``.
"""

from __future__ import annotations

import hashlib
import math

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TWO_53 = 2.0 ** -53


class DeviceRandom:
    __slots__ = ("_s",)

    def __init__(self, key: str) -> None:
        self._s = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")

    def random(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        s = self._s = (self._s + _GOLDEN) & _M64
        z = ((s ^ (s >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return ((z ^ (z >> 31)) >> 11) * _TWO_53

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.random()

    def expovariate(self, lambd: float) -> float:
        return -math.log(1.0 - self.random()) / lambd

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float:
        # Box-Muller; one of the pair is dropped to keep the state a single int.
        u1 = 1.0 - self.random()
        return mu + sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * self.random())


def stream(seed: int, dev: str, use: str) -> DeviceRandom:
    """The random stream of one use on one device: ``"<seed>/<dev>/<use>"``.

    The simulator and the real runner draw a device's mobility
    (``use="mobility"``) and its person (``use="behaviour"``) from these same
    streams, so one seed gives the same link timeline and the same acts in
    both modes (given the same device state).
    """
    return DeviceRandom(f"{seed}/{dev}/{use}")
