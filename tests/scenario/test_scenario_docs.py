"""docs/scenarios.md and docs/simulation.md: the examples run, the tables are current."""

import re
from pathlib import Path

import yaml

from bench.scenario import parse_scenario
from bench.scenario.mutants import mutants_table
from bench.sim import simulate

DOCS = Path("docs")


def test_the_scenario_example_is_valid_and_runs():
    text = (DOCS / "scenarios.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S).group(1)
    sc = parse_scenario(yaml.safe_load(block), "docs/scenarios.md")
    assert sc.n_devices == 21 and sc.server.outages == ((3000.0, 3100.0),)
    result = simulate(sc.with_overrides(devices=4, hours=1.5))
    assert result.problems == []


def test_server_mutant_table_in_simulation_docs_is_generated_from_the_registry():
    assert mutants_table() in (DOCS / "simulation.md").read_text()
