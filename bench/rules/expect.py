"""Whether a run met its expectations: the one checker for every mode.

A scenario or suite item may say what each rule's verdict should be
(``expect: {planado.push_delivered: fail}``); by default every rule passes or
is n/a. :func:`unmet` lists each expectation not met, as one line per rule,
sorted, so the simulator, real runs and trace items report alike.
:class:`ItemResult` is what every checked item (a trace, a simulated or a
real run) comes back as.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.rules.base import FAIL, RuleResult


def unmet(results: Iterable[RuleResult], expect: Mapping[str, str]) -> tuple[str, ...]:
    """Each expectation not met, as 'rule: expected X, got Y'."""
    got = {r.id: r.verdict for r in results}
    out = []
    for rid, want in sorted(expect.items()):
        if rid not in got:
            out.append(f"{rid}: expected {want}, but the policy has no such rule")
        elif got[rid] != want:
            out.append(f"{rid}: expected {want}, got {got[rid]}")
    for rid, verdict in sorted(got.items()):
        if rid not in expect and verdict == FAIL:
            out.append(f"{rid}: failed unexpectedly")
    return tuple(out)


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemResult:
    """One checked item: its verdicts, its expectations and what of them was not met."""

    name: str
    kind: str  # "trace" | "sim" | "real"
    policy: str
    results: tuple[RuleResult, ...]
    expect: dict[str, str]
    unmet: tuple[str, ...]
    report_dir: Path | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def holds(self) -> bool:
        return not self.unmet
