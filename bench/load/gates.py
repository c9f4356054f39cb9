"""CI gates on a load run's figures: p99 latency, failure ratio, throughput.

Theory of operation: a gate is a limit on one figure of the whole run
(Locust's aggregated statistics): ``--p99-ms`` (the 99th percentile response
time must not exceed it), ``--max-fail-ratio`` (failed / all requests must not
exceed it), ``--min-rps`` (requests per second must reach it) and
``--min-sockets`` (the share of the fleet holding its push WebSocket at once
must reach it, so ``--find-capacity`` can search on sockets held as well). Unset gates
are not checked. :func:`check` returns one :class:`GateResult` per set gate;
:func:`reason` makes the one line a failing run ends with.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Gates:
    p99_ms: float | None = None
    max_fail_ratio: float | None = None
    min_rps: float | None = None
    min_sockets: float | None = None  # share of devices holding their push socket, 0..1

    def __post_init__(self) -> None:
        for flag, v in (("--p99-ms", self.p99_ms), ("--max-fail-ratio", self.max_fail_ratio),
                        ("--min-rps", self.min_rps), ("--min-sockets", self.min_sockets)):
            if v is not None and not v >= 0:
                raise ValueError(f"{flag} must be >= 0, got {v!r}")
        if self.min_sockets is not None and self.min_sockets > 1:
            raise ValueError(f"--min-sockets is a share of the fleet (0..1), got {self.min_sockets!r}")

    @property
    def any(self) -> bool:
        return (self.p99_ms, self.max_fail_ratio, self.min_rps, self.min_sockets) != \
            (None, None, None, None)


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    gate: str  # the flag name, e.g. "p99-ms"
    limit: float
    value: float
    ok: bool

    def to_dict(self) -> dict:
        return {"gate": self.gate, "limit": self.limit, "value": self.value, "ok": self.ok}


def check(gates: Gates, *, p99_ms: float, fail_ratio: float, rps: float,
          sockets: float | None = None) -> list[GateResult]:
    """``sockets``: the share of the fleet that held its push socket at once (None:
    the run held none, which fails a ``--min-sockets`` gate)."""
    out = []
    if gates.p99_ms is not None:
        out.append(GateResult(gate="p99-ms", limit=gates.p99_ms, value=p99_ms,
                              ok=p99_ms <= gates.p99_ms))
    if gates.max_fail_ratio is not None:
        out.append(GateResult(gate="max-fail-ratio", limit=gates.max_fail_ratio,
                              value=fail_ratio, ok=fail_ratio <= gates.max_fail_ratio))
    if gates.min_rps is not None:
        out.append(GateResult(gate="min-rps", limit=gates.min_rps, value=rps,
                              ok=rps >= gates.min_rps))
    if gates.min_sockets is not None:
        held = sockets or 0.0
        out.append(GateResult(gate="min-sockets", limit=gates.min_sockets, value=held,
                              ok=held >= gates.min_sockets))
    return out


def reason(results: list[GateResult]) -> str | None:
    """One line naming every failed gate, or None when all held."""
    bad = [r for r in results if not r.ok]
    if not bad:
        return None
    words = {"p99-ms": ("p99", "ms", ">"), "max-fail-ratio": ("failure ratio", "", ">"),
             "min-rps": ("requests/s", "", "<"), "min-sockets": ("sockets held", "", "<")}
    parts = []
    for r in bad:
        what, unit, op = words[r.gate]
        parts.append(f"--{r.gate}: {what} {r.value:.4g}{' ' + unit if unit else ''} "
                     f"{op} {r.limit:g}{' ' + unit if unit else ''}")
    return "gate failed: " + "; ".join(parts)
