"""The settle window's one schedule (bench.scenario.settle), played by both drivers."""

from __future__ import annotations

from bench.scenario import settle
from bench.scenario.model import Scenario


def test_the_schedule_puts_the_pull_halfway_and_the_snapshot_at_the_end():
    sc = Scenario(name="s", policy="planado", duration_s=3600.0, settle_s=600.0)
    assert settle.schedule(sc) == ((3600.0, "fast"), (3900.0, "pull"), (4200.0, "snapshot"))
    bare = Scenario(name="s", policy="planado", duration_s=60.0, settle_s=0.0)
    assert settle.schedule(bare) == ((60.0, "fast"), (60.0, "snapshot"))


def test_wake_opens_a_closed_app_and_restores_a_minimized_one():
    assert [settle.wake(s) for s in ("closed", "background", "foreground")] == \
        ["opened", "restored", None]
