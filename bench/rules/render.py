"""Verdicts for people (a table, failures first) and for programs (JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.rules.base import FAIL, NA, PASS, RuleResult, fmt_t

_ORDER = {FAIL: 0, PASS: 1, NA: 2}
# Enough to act on in a terminal; --json and JUnit carry every violation.
MAX_SHOWN = 10


def as_json(policy: str, results: Sequence[RuleResult]) -> dict[str, Any]:
    return {"policy": policy, "rules": [r.as_dict() for r in results]}


def summary(results: Sequence[RuleResult]) -> str:
    n = {v: sum(r.verdict == v for r in results) for v in (FAIL, PASS, NA)}
    return f"{len(results)} rules: {n[FAIL]} fail, {n[PASS]} pass, {n[NA]} n/a"


def table(policy: str, results: Sequence[RuleResult], *, source: str = "") -> str:
    lines = [f"{source + ': ' if source else ''}policy {policy}, {summary(results)}"]
    width = max((len(r.id) for r in results), default=10)
    for r in sorted(results, key=lambda r: (_ORDER[r.verdict], r.id)):
        tag = r.verdict.upper()
        extra = (f"{r.count} violation(s)" if r.verdict == FAIL else f"{r.judged} judged"
                 if r.verdict == PASS else f"not judged: {r.why or 'no instance'}")
        lines.append(f"  {tag:<4}  {r.id:<{width}}  {extra}")
        for v in r.violations[:MAX_SHOWN]:
            lines.append(f"        t={fmt_t(v.t):>9}  {v.dev or '-':<10} {v.message}")
        if r.count > MAX_SHOWN:
            lines.append(f"        ... and {r.count - MAX_SHOWN} more (see --json)")
    return "\n".join(lines)
