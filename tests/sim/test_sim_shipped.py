"""The shipped scenarios: each meets its expect:, and together they exercise every rule."""

import glob

import pytest

from bench.rules import builtin_policies
from bench.scenario import load_scenario
from bench.sim import simulate

SHIPPED = sorted(glob.glob("scenarios/*.yaml"))
# Small sizes keep the suite quick; the scripted devices of each scenario keep
# its rules exercised at any fleet size.
EXTRA_DEVICES = 4
MAX_HOURS = 2.0
_passed: dict[str, set[str]] = {}


def _small(path):
    sc = load_scenario(path)
    return sc.with_overrides(devices=len(sc.devices) + EXTRA_DEVICES,
                             hours=min(sc.duration_s / 3600, MAX_HOURS))


def test_the_six_scenarios_are_shipped():
    names = {load_scenario(p).name for p in SHIPPED}
    assert {"planado-day", "planado-rural-edge", "planado-offline-edits", "planado-push-off",
            "planado-reconnect-storm", "playmaker-day"} <= names


@pytest.mark.parametrize("path", SHIPPED)
def test_shipped_scenario_meets_its_expect(path):
    result = simulate(_small(path))
    assert result.problems == [], path
    _passed[path] = {r.id for r in result.results if r.verdict == "pass"}


def test_every_rule_of_both_policies_passes_in_some_shipped_scenario():
    passed: set[str] = set()
    for path in SHIPPED:
        if path not in _passed:  # run alone or on another worker
            _passed[path] = {r.id for r in simulate(_small(path)).results
                             if r.verdict == "pass"}
        passed |= _passed[path]
    policies = builtin_policies()
    every = set(policies["planado"].rules) | set(policies["playmaker"].rules)
    assert every - passed == set()
