"""Did the machine keep up? Measured file transfers against their scaled targets.

Theory of operation: spec/links.md "Time scale": "every transfer takes 1/K of
its real time ... The runner must report when the machine could not keep up
(measured transfer times that miss their scaled targets)". The devices'
transfers are in the merged trace (``file_start`` -> ``file_end``, spec
seconds); dividing by K gives the wall time they took. The target is what the
profile in force says the same exchange should take at K: the reference
client moves a file as HTTP exchanges over one shaped connection, each paying
one round trip, and the bytes paying the rate once::

    up:    GET offset + ceil(bytes / chunk) PATCHes + POST finish
           target = (RTT * (chunks + 2) + bytes / up rate) / K
    down:  one GET
           target = (RTT + bytes / down rate) / K

plus one round trip for each new connection the transfer opened (its
``file_end``'s ``connects``, an extension the reference client writes): a
new connection pays a handshake round trip on any real link before its first
request can leave. The bench's link proxy charges it (``latency.handshake``:
a connection's first request waits one scaled round trip from the accept,
the proxy's dial of the server inside it); a toxiproxy-server does not, and
there the machine's own connection set-up (2-5 wall ms here) is all that
stands where the handshake would be.

Only clean samples count: the transfer succeeded, is large enough to
measure bandwidth (spec/links.md "Sample only transfers large enough to
measure bandwidth": at least :data:`MIN_SAMPLE_BYTES` and at least
:data:`MIN_SAMPLE_LINK_S` of its profile's rate, so the rate term dominates
the round trips -- 64 KiB is about a second at the 550 kbps slow/fast line,
and a second of Wi-Fi is 1.9 MB), ran before the settle window on one shaped
profile (no link change in between), and overlapped no other transfer of its
device (the client queues files on a few connections; queueing is not the
link). A download resumed after a cut attempt is timed on the bytes it had
left (the cut attempt's ``file_end`` says how many had moved); a resumed
upload is not a sample, as the bytes a cut request delivered are kept by the
server but never acknowledged, so the trace cannot say where it resumed.
The relative drift of each is ``(measured - target) / target``; the report
gets the worst, the mean, the count and whether all stayed within
:data:`bench.link.timescale.DRIFT_TOLERANCE`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from typing import Any

from bench.link.profiles import get_profile
from bench.link.timescale import DRIFT_TOLERANCE

# The reference client's threshold for a transfer large enough to measure a
# rate (reference_client/client/throughput.py samples transfers of 64 KiB and up).
MIN_SAMPLE_BYTES = 64 * 1024
# A sample moves at least this many spec seconds of its profile's rate: the
# 64 KiB floor is about one second at the spec's 550 kbps slow/fast line.
MIN_SAMPLE_LINK_S = 1.0
# The reference client's upload chunk (reference_client.client.config.UPLOAD_CHUNK_BYTES).
UPLOAD_CHUNK_BYTES = 256 * 1024


def target_wall_s(profile: str, nbytes: int, direction: str, time_scale: float,
                  chunk: int = UPLOAD_CHUNK_BYTES, connects: int = 0) -> float:
    """Wall seconds a transfer of ``nbytes`` should take on ``profile`` at K,
    ``connects`` of its exchanges opening a new connection."""
    p = get_profile(profile)
    shape = p.shape(direction)
    rtt_s = (p.shape("up").latency_ms + p.shape("down").latency_ms) / 1000
    exchanges = math.ceil(nbytes / chunk) + 2 if direction == "up" else 1
    return (rtt_s * (exchanges + connects) + nbytes / (shape.rate_kbps * 125)) / time_scale


def min_sample_bytes(profile: str, direction: str) -> int:
    """The fewest bytes a transfer on ``profile`` must move to be a sample."""
    rate_bps = get_profile(profile).shape(direction).rate_kbps * 125
    return max(MIN_SAMPLE_BYTES, math.ceil(rate_bps * MIN_SAMPLE_LINK_S))


def samples(events: Iterable[dict[str, Any]], links: dict[str, tuple[tuple[float, str], ...]],
            time_scale: float, end_s: float) -> list[dict[str, Any]]:
    """Clean transfer samples: dev, dir, bytes, profile, measured and target wall s."""
    open_: dict[tuple[str, str, str], tuple[float, int]] = {}
    busy: dict[str, int] = {}
    tainted: set[tuple[str, str, str]] = set()
    out = []
    # Bytes an earlier, cut attempt of the same file moved: a resumed transfer
    # moves only the rest (Range / Upload-Offset), and is timed on the rest.
    moved_before: dict[tuple[str, str, str], int] = {}
    for ev in events:
        kind = ev.get("ev")
        if kind == "file_start":
            dev = ev["dev"]
            key = (dev, ev["file"], ev["dir"])
            if busy.get(dev):
                tainted |= {k for k in open_ if k[0] == dev}
                tainted.add(key)
            busy[dev] = busy.get(dev, 0) + 1
            open_[key] = (ev["t"], int(ev["bytes"]))
        elif kind == "file_end":
            dev = ev["dev"]
            key = (dev, ev["file"], ev["dir"])
            started = open_.pop(key, None)
            if started is None:
                continue
            busy[dev] -= 1
            was_tainted = key in tainted
            tainted.discard(key)
            t0, nbytes = started
            t1 = ev["t"]
            if not ev.get("ok"):
                moved_before[key] = max(moved_before.get(key, 0), int(ev.get("bytes") or 0))
                continue
            resumed = key in moved_before
            nbytes -= min(moved_before.pop(key, 0), nbytes)
            if was_tainted or nbytes < MIN_SAMPLE_BYTES or t1 > end_s:
                continue
            if resumed and ev["dir"] == "up":
                continue
            steps = links.get(dev, ())
            times = [s[0] for s in steps]
            i = bisect.bisect_right(times, t0) - 1
            if i < 0 or (i + 1 < len(steps) and steps[i + 1][0] <= t1):
                continue
            profile = steps[i][1]
            if get_profile(profile).mode != "shaped" or nbytes < min_sample_bytes(profile,
                                                                                 ev["dir"]):
                continue
            measured = (t1 - t0) / time_scale
            connects = ev.get("connects") or 0
            target = target_wall_s(profile, nbytes, ev["dir"], time_scale, connects=connects)
            out.append({"dev": dev, "dir": ev["dir"], "bytes": nbytes, "profile": profile,
                        "connects": connects, "measured_s": measured, "target_s": target,
                        "drift": (measured - target) / target})
    return out


def summarize(found: list[dict[str, Any]], tolerance: float = DRIFT_TOLERANCE) -> dict[str, Any]:
    """The report's drift facts: worst (largest in size), mean, n, kept_up."""
    if not found:
        return {"n": 0, "worst": None, "mean": None, "kept_up": None, "tolerance": tolerance,
                "worst_sample": None}
    worst = max(found, key=lambda s: abs(s["drift"]))
    mean = sum(s["drift"] for s in found) / len(found)
    return {"n": len(found), "worst": round(worst["drift"], 4), "mean": round(mean, 4),
            "kept_up": abs(worst["drift"]) <= tolerance, "tolerance": tolerance,
            "worst_sample": {k: (round(v, 4) if isinstance(v, float) else v)
                             for k, v in worst.items()}}
