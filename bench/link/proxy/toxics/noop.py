"""noop: passes everything through unchanged.

Upstream ships it as the smallest possible toxic; the bench uses it to check
that an inert toxic on the chain costs nothing and keeps every byte in order.
"""

from __future__ import annotations

import dataclasses

from bench.link.proxy.toxics import Settings, ToxicState, register


class NoopState(ToxicState):
    __slots__ = ()


@register("noop")
@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Noop(Settings):
    STATE = NoopState
