"""Slow or fast by measured throughput (spec/links.md "Slow or fast").

Theory of operation: the OS normally tells the device its link class, and the
runner passes that on. "Where the OS gives no type (Wi-Fi tethered to a 2G
phone), a client may also classify by measured throughput": "550 kbps is the
sensible slow/fast line". :class:`ThroughputMeter` takes one sample per file
transfer — bytes moved and the wall seconds it took — converts it to spec
kbps (a time-compressed link carries K times the real bandwidth, spec/links.md
"Time scale", so the spec rate is the measured rate divided by K), and keeps a
running average. "Sample only transfers large enough to measure bandwidth":
samples under :data:`MIN_SAMPLE_BYTES` are ignored, since a short transfer
mostly measures the round trip.
"""

from __future__ import annotations

# spec/links.md: "550 kbps is the sensible slow/fast line".
SLOW_FAST_KBPS = 550.0
# A transfer must move at least this many bytes to count: at 550 kbps, 64 KiB
# takes about a second, several round trips even on EDGE (840 ms RTT), so the
# round trip no longer dominates the sample.
MIN_SAMPLE_BYTES = 64 * 1024
# Weight of a new sample in the running average (Facebook's
# network-connection-class uses an exponential moving average with decay 0.05
# over many small samples; we have few, large ones, so a new one counts more).
EWMA_WEIGHT = 0.5


class ThroughputMeter:
    """``meter.sample(nbytes, wall_s)``; ``meter.kbps``; ``meter.is_slow``."""

    def __init__(self, *, time_scale: float = 1.0) -> None:
        self.time_scale = float(time_scale)
        self.kbps: float | None = None

    def sample(self, nbytes: int, wall_s: float) -> bool:
        """Add one transfer; returns whether it was large enough to count."""
        if nbytes < MIN_SAMPLE_BYTES or wall_s <= 0:
            return False
        kbps = nbytes * 8 / 1000 / wall_s / self.time_scale
        self.kbps = kbps if self.kbps is None else (
            EWMA_WEIGHT * kbps + (1 - EWMA_WEIGHT) * self.kbps)
        return True

    @property
    def is_slow(self) -> bool | None:
        """True below the 550 kbps line, False above, None before any sample."""
        return None if self.kbps is None else self.kbps < SLOW_FAST_KBPS
