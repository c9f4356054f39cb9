"""How much work one scenario may ask for, checked before any of it is done.

Theory of operation: every input that sizes work (devices, hours, steps, the
file itself, the seed) has a limit here, and the scenario parser, the CLI
overrides (``--devices``, ``--hours``, ``--seed``) and ``link mobility
--hours`` check against the same numbers, naming the limit in the one-line
error. The limits are generous for real use (a week of 100,000 devices is
2.4 million device-hours past the ``MAX_DEVICE_HOURS`` line; shards or a
cluster are the way there) and small enough that a typo such as
``fleet.size: 100000000`` is refused at once instead of running until memory
runs out.
"""

from __future__ import annotations

import math

# One scenario's fleet: explicit devices plus the generated ones. A sharded
# run (simulate --shards N) may have this many per shard ...
MAX_DEVICES = 100_000
# ... up to this many in all: each shard still builds the fleet's device list
# to find its own (about 300 bytes and 3 random draws a device).
MAX_SHARDED_DEVICES = 1_000_000
# A run's length and its settle window, in spec seconds (7 days; 1 day).
MAX_DURATION_S = 7 * 86_400.0
MAX_SETTLE_S = 86_400.0
# Devices x hours: the simulator's work (about 300 device-hours per wall
# second today, so this is about two hours of one process).
MAX_DEVICE_HOURS = 2_400_000.0
# Timed steps in one timeline and in the dispatcher's list.
MAX_STEPS = 100_000
# The scenario file's size, before YAML parsing.
MAX_FILE_BYTES = 8 * 1024 * 1024
# Seeds are written into traces as JSON integers (orjson: 64 bits).
MAX_SEED = 2**63 - 1
# Any other number in a scenario (rates, sizes, parameters).
MAX_NUMBER = 1e15


def size_problem(n_devices: int, duration_s: float, *, devices: str = "devices",
                 duration: str = "duration", shards: int = 1) -> str | None:
    """Why a fleet of ``n_devices`` for ``duration_s`` is too big, or None.

    ``devices`` and ``duration`` name the inputs in the message (a key path or
    a flag). ``shards``: the devices and device-hours limits hold per shard,
    up to :data:`MAX_SHARDED_DEVICES` in all.
    """
    shards = max(1, shards)
    if n_devices > MAX_DEVICES * shards or n_devices > MAX_SHARDED_DEVICES:
        if shards == 1:
            return f"{devices}: {n_devices:,} devices is over the limit of {MAX_DEVICES:,} per run"
        cap = min(MAX_DEVICES * shards, MAX_SHARDED_DEVICES)
        return (f"{devices}: {n_devices:,} devices is over the limit of {cap:,} for {shards} "
                f"shards ({MAX_DEVICES:,} a shard, {MAX_SHARDED_DEVICES:,} in all)")
    if not math.isfinite(duration_s) or duration_s > MAX_DURATION_S:
        return (f"{duration}: {duration_s / 3600:g} h is over the limit of "
                f"{MAX_DURATION_S / 3600:g} h per run")
    work = n_devices * duration_s / 3600.0
    if work > MAX_DEVICE_HOURS * shards:
        per = "per run" if shards == 1 else f"for {shards} shards"
        return (f"{devices} x {duration}: {work:,.0f} device-hours is over the limit of "
                f"{MAX_DEVICE_HOURS * shards:,.0f} {per} (fewer devices or hours, or more shards)")
    return None
