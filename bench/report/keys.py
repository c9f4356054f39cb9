"""The key metrics: the headline numbers of a run.

Theory of operation: ``metrics.json`` holds many numbers; a person scanning a
report and a release gate comparing two runs need a dozen. They are listed
once here, with their unit and which direction is worse, and read by the
page's metrics table (:mod:`bench.report.html`) and by ``syncbench compare``
(:mod:`bench.report.compare`).
"""

from __future__ import annotations

from typing import Any

# The headline numbers: shown in the report's table and compared between runs.
# (key, label, unit, worse): worse is "up" when a larger value is a regression,
# None when a change is informational only (more syncs per hour is not better
# or worse by itself).
KEY_METRICS: tuple[tuple[str, str, str, str | None], ...] = (
    ("sync_interval_p50_s", "sync interval, median", "s", None),
    ("sync_interval_p95_s", "sync interval, p95", "s", "up"),
    ("syncs_per_device_hour", "syncs per device-hour", "/h", None),
    ("failed_sync_ratio", "failed sync ratio", "", "up"),
    ("staleness_p50_s", "staleness, median", "s", "up"),
    ("staleness_p95_s", "staleness, p95", "s", "up"),
    ("upload_delay_p50_s", "upload delay, median", "s", "up"),
    ("upload_delay_p95_s", "upload delay, p95", "s", "up"),
    ("push_delay_p50_s", "push delay, median", "s", "up"),
    ("push_delay_p95_s", "push delay, p95", "s", "up"),
    ("unsent_max", "peak unsent changes (all devices)", "", "up"),
    ("bytes_up", "bytes uploaded (files)", "B", None),
    ("bytes_down", "bytes downloaded (files)", "B", None),
)


def key_metrics(m: dict[str, Any]) -> dict[str, float | None]:
    return {
        "sync_interval_p50_s": m["sync_interval_s"]["p50"],
        "sync_interval_p95_s": m["sync_interval_s"]["p95"],
        "syncs_per_device_hour": m["sync"]["per_device_hour"],
        "failed_sync_ratio": m["sync"]["failed_ratio"],
        "staleness_p50_s": m["staleness_s"]["p50"],
        "staleness_p95_s": m["staleness_s"]["p95"],
        "upload_delay_p50_s": m["upload_delay_s"]["p50"],
        "upload_delay_p95_s": m["upload_delay_s"]["p95"],
        "push_delay_p50_s": m["push_delay_s"]["p50"],
        "push_delay_p95_s": m["push_delay_s"]["p95"],
        "unsent_max": m["unsent"]["true_max"],
        "bytes_up": m["bytes"]["total"]["up"],
        "bytes_down": m["bytes"]["total"]["down"],
    }
