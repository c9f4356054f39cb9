"""The checker's verdicts, kept: every rule's verdict, judged count, violation
count and violation list (times, devices, messages, order) on fixed traces.

``golden/checker_golden.json`` was written by the checker before the lean
rewrite (issue #12: per-kind steps, lazy deadlines, windows only for what
outlives its instant), on two small simulator traces with mutants
(``golden/sim_*_mutants.ndjson``: failures of several rules, windows that fire;
not ``.jsonl``, which the pytest plugin would collect as suite items)
and on ``scenarios/traces/``, for both policies, with all violations kept and
with the list cut at 3 (which violations are kept follows the clock's order).
A change to the checker that moves any of it is a change of verdicts, not of
speed. The same results must come out of the batch (``feed_all``) and the
online (``feed`` per event, as the simulator does) paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bench.rules.base as base
from bench.rules import Checker, get_policy
from bench.trace import TraceReader

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = json.loads((Path(__file__).parent / "golden" / "checker_golden.json").read_text())


def results(path: Path, policy: str, *, online: bool) -> list:
    reader = TraceReader(path)
    events = list(reader)
    checker = Checker(get_policy(policy), meta=reader.meta)
    if online:
        for ev in events:
            checker.feed(ev)
    else:
        checker.feed_all(events)
    return [[r.id, r.verdict, r.judged, r.failures, r.why, [[v.t, v.dev, v.message] for v in r.violations]]
            for r in checker.finish()]


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_verdicts_match_the_golden(key, monkeypatch):
    trace, policy, cap = key.rsplit(":", 2)
    if cap != "all":
        monkeypatch.setattr(base, "MAX_VIOLATIONS_KEPT", int(cap))
    want = json.loads(json.dumps(GOLDEN[key]))
    assert json.loads(json.dumps(results(ROOT / trace, policy, online=False))) == want
    assert json.loads(json.dumps(results(ROOT / trace, policy, online=True))) == want


def test_the_golden_exercises_failures_and_cuts():
    failing = {(k.rsplit(":", 2)[0], r[0]) for k, v in GOLDEN.items() for r in v if r[1] == "fail"}
    assert len(failing) >= 10
    cut = [r for k, v in GOLDEN.items() if k.endswith(":3") for r in v if r[3] > len(r[5])]
    assert cut, "no violation list is cut at 3"
