"""Whether a run met its expectations: the one checker for every mode.

A scenario or suite item may say what each rule's verdict should be
(``expect: {planado.push_delivered: fail}``); by default every rule passes or
is n/a. :func:`unmet` lists each expectation not met, as one line per rule,
sorted, so the simulator, real runs and trace items report alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
