"""Load profiles: what the fleet does over a run, registered by name.

Theory of operation: a profile is a few moments on the run's wall clock,
offsets in seconds from the run epoch (:attr:`LoadConfig.epoch`), computed
from the run's duration. Every device and the dispatcher read the same
moments, in this process or in a worker process, so "all at once" is the same
instant everywhere (machines are assumed NTP-synchronised)::

    steady   |--- every device at its policy's cadence, opens spread over one period ---|
    storm    |--- steady ---|=== offline, editing ===|^ reconnect, all at once |--------|
    burst    |--- steady ----------|^ dispatcher bulk change, a push to every device ---|

- ``steady``: each device opens its app at a random moment within one cadence
  period after it spawns, so timer syncs are spread over the period.
- ``storm``: a whole city's workers lose the network (``LinkChanged offline``)
  at :data:`STORM_OFFLINE_FRAC` of the run, keep editing
  (:data:`STORM_EDITS` edits each, at random moments of the outage), and all
  come back online at :data:`STORM_RECONNECT_FRAC` ("what happens when a whole
  city's workers come back online at once?"). The reconnect is marked on the
  plots.
- ``burst``: at :data:`BURST_FRAC` of the run the dispatcher edits one job of
  every device ("a dispatcher bulk change that pushes to every device"); each
  edit's push reaches its device, which syncs at once (Planado's push trigger).
"""

from __future__ import annotations

from dataclasses import dataclass

# Storm timing as fractions of the run: a quarter of the run to settle into the
# cadence, a third offline, the rest to watch the herd drain.
STORM_OFFLINE_FRAC = 0.25
STORM_RECONNECT_FRAC = 0.6
# Edits each device saves while offline: a status change and a note are the
# least a worker records on a job while out of coverage.
STORM_EDITS = 2
# The burst lands mid-run: half the run before to see the cadence, half after.
BURST_FRAC = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    name: str
    summary: str
    offline_frac: float | None = None
    reconnect_frac: float | None = None
    offline_edits: int = 0
    burst_frac: float | None = None

    def moments(self, duration_s: float) -> dict[str, float]:
        """Named wall-clock offsets (s from the epoch) of this profile's moments."""
        out: dict[str, float] = {}
        if self.offline_frac is not None and self.reconnect_frac is not None:
            out["offline"] = self.offline_frac * duration_s
            out["reconnect"] = self.reconnect_frac * duration_s
        if self.burst_frac is not None:
            out["burst"] = self.burst_frac * duration_s
        return out


PROFILES: dict[str, Profile] = {
    "steady": Profile(name="steady",
                      summary="every device at its policy's cadence, spread over the period"),
    "storm": Profile(name="storm",
                     summary="every device offline for a while, editing, then all reconnect "
                             "at once",
                     offline_frac=STORM_OFFLINE_FRAC, reconnect_frac=STORM_RECONNECT_FRAC,
                     offline_edits=STORM_EDITS),
    "burst": Profile(name="burst",
                     summary="a dispatcher bulk change that pushes to every device",
                     burst_frac=BURST_FRAC),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None
