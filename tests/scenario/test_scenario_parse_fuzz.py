"""Fuzz the scenario parser: any YAML value or text is a Scenario or one ScenarioError line.

Hypothesis mutates a good scenario (a key given any YAML value, removed or
added, a list entry duplicated) and also feeds arbitrary text through the
file loader. Whatever it builds, the parser must answer with a frozen
Scenario or a :class:`ScenarioError` of one line that names the file, never
another exception (the YAML cases of the hardening campaign: deep nesting,
binary content, ``.nan``/``.inf``, seeds past 64 bits, zero service means).
"""

from __future__ import annotations

import copy
import math

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.scenario import Scenario, ScenarioError, load_scenario, parse_scenario

GOOD = yaml.safe_load("""
name: ok
policy: planado
seed: 3
duration: 2h
settle: 10m
params: {respond_s: 30}
fleet: {size: 3, mobility: {urban: 1, rural: 2}, behaviour: field_worker, push_off: 0.5}
devices:
  - id: w1
    link: wifi
    timeline:
      - {t: 0, app: opened}
      - {t: 30m, edit: photo, record: job-1, bytes: 1000}
      - {t: 40m, link: edge}
dispatch:
  - {t: 10, op: create, record: job-1, assignee: w1}
  - {t: 20, op: attach, record: job-1, file: f1, bytes: 300}
dispatcher: {jobs_at_start: 1, create_per_h: 0.5, attach_bytes: {dist: lognormal, median: 1000, sigma: 0.5}}
server: {workers: 2, service: {dist: exp, mean: 0.05}, outages: [[1m, 2m]]}
push: {delay: {dist: uniform, low: 0.1, high: 1}, ttl: 5m}
expect: {planado.cadence: pass}
""")
EXAMPLES = 400

values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats() | st.text(max_size=10)
    | st.sampled_from(["2h", "1h30m", "0s", ".nan", "lte", "wifi", "urban", "exp", "w1", "job-1",
                       "opened", "photo", "create", "pass", "fail", "-1m", "1e999h"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["t", "id", "dist", "mean", "size", "x", "link", "edit", "op"]) | st.text(max_size=4),
        inner, max_size=3),
    max_leaves=8)


def _paths(node, path=()):
    """Every (container, key) pair in the decoded scenario."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield node, k
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield node, i
            yield from _paths(v, (*path, i))


@st.composite
def mutated(draw):
    data = copy.deepcopy(GOOD)
    for _ in range(draw(st.integers(1, 3))):
        spots = list(_paths(data))
        container, key = draw(st.sampled_from(spots))
        op = draw(st.sampled_from(["value", "value", "delete", "dup", "add"]))
        if op == "value":
            container[key] = draw(values)
        elif op == "delete":
            del container[key]
        elif op == "dup" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        elif op == "add" and isinstance(container, dict):
            container[draw(st.text(max_size=6))] = draw(values)
    return data


def check(parse, source="fuzz.yaml"):
    try:
        sc = parse()
    except ScenarioError as exc:
        msg = str(exc)
        assert msg.startswith(source) and "\n" not in msg and len(msg) < 600, msg
        return
    assert isinstance(sc, Scenario)
    assert math.isfinite(sc.duration_s) and math.isfinite(sc.settle_s) and sc.n_devices > 0


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_scenarios_parse_or_fail_with_one_line(data):
    check(lambda: parse_scenario(data, "fuzz.yaml"))


@settings(max_examples=EXAMPLES // 2, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200) | st.builds(yaml.safe_dump, mutated()))
def test_any_text_loads_or_fails_with_one_line(text, tmp_path):
    f = tmp_path / "fuzz.yaml"
    f.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(lambda: load_scenario(f), str(f))
