"""Selftest: every mutant must fail its rule, the true policies must pass all.

Theory of operation: the bench is only worth something if its rules catch
the faults they are written for. For each mutant -- the client mutants of
``reference_client.mutants`` and the server/push mutants of
:mod:`bench.scenario.mutants` -- run the exercise day of its policy
(:mod:`bench.sim.exercise`) with the mutant swapped in, and check that the
mutant's rule fails. Run the true policies on the same days and check that
every rule passes (n/a counts as a miss: the day must exercise every rule).

    rows = run_selftest()           # list of Row
    all(r.ok for r in rows)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bench.scenario.mutants import SERVER_MUTANTS
from bench.sim.exercise import exercise
from bench.sim.fleet import Fleet
from reference_client.mutants import MUTANTS


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    name: str  # mutant name, or "planado"/"playmaker" for a true policy
    side: str  # client | server | true
    rule: str  # the rule that must fail, or "all" for a true policy
    ok: bool
    detail: str


def _verdicts(sc) -> dict[str, str]:
    return {r.id: r.verdict for r in Fleet(sc).run().results}


def run_one(name: str, side: str) -> Row:
    if side == "true":
        v = _verdicts(exercise(name))
        bad = sorted(f"{k}={x}" for k, x in v.items() if x != "pass")
        return Row(name=name, side=side, rule="all", ok=not bad,
                   detail=f"{len(v)} rules pass" if not bad else "; ".join(bad))
    if side == "client":
        m = MUTANTS[name]
        base = exercise(m.base)
        sc = base.but(devices=tuple(replace(d, client=name) for d in base.devices))
        rule = m.rule
    else:
        m = SERVER_MUTANTS[name]
        base = exercise("planado")
        sc = base.but(server=replace(base.server, mutant=name))
        rule = m.rule
    v = _verdicts(sc)
    got = v.get(rule, "missing")
    others = sorted(k for k, x in v.items() if x == "fail" and k != rule)
    detail = f"{rule}: {got}"
    if others:
        detail += f" (also fail: {', '.join(others)})"
    return Row(name=name, side=side, rule=rule, ok=got == "fail", detail=detail)


def plan() -> list[tuple[str, str]]:
    """(name, side) of every run, true policies first."""
    return ([("planado", "true"), ("playmaker", "true")]
            + [(n, "client") for n in MUTANTS] + [(n, "server") for n in SERVER_MUTANTS])


def run_selftest(progress=None) -> list[Row]:
    rows = []
    for name, side in plan():
        rows.append(run_one(name, side))
        if progress is not None:
            progress(rows[-1])
    return rows


def render(rows: list[Row]) -> str:
    w = max(len(r.name) for r in rows)
    lines = [f"selftest: {sum(r.ok for r in rows)}/{len(rows)} ok"]
    for r in rows:
        lines.append(f"  {'OK  ' if r.ok else 'MISS'}  {r.side:<6}  {r.name:<{w}}  {r.detail}")
    return "\n".join(lines)
