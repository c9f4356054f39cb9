"""Story helpers shared by the rule tests."""

from __future__ import annotations

from bench.testing import TraceBuilder


def up(tb: TraceBuilder, t: float = 0, dev: str = "d1", cls: str = "wifi") -> TraceBuilder:
    """The device comes online on ``cls`` and opens the app at ``t``."""
    return tb.link(t, dev, cls).app(t, dev, "opened")


def result(tb: TraceBuilder, rule: str, **params):
    return tb.results(**params)[rule]


def tail(tb: TraceBuilder, t: float = 1000) -> TraceBuilder:
    """An unrelated device's event at ``t``, so the trace runs on past every window."""
    return tb.link(t, "zz", "offline")
