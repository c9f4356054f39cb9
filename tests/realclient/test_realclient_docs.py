"""docs/client.md stays true: its script example parses, its flag table is complete."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from reference_client.client import parse_line
from reference_client.client.cli import add_arguments
from reference_client.client.script import ACTION_KEYS

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def test_every_line_of_the_script_example_is_a_valid_action():
    text = DOC.read_text()
    block = re.search(r"```json\n(.*?)```", text, re.S)
    assert block, "docs/client.md lost its script example"
    actions = [parse_line(line, f"docs/client.md example line {n}")
               for n, line in enumerate(block.group(1).splitlines(), 1)]
    done = {a.do for a in actions if a is not None}
    assert done == {"link", "app", "edit", "manual", "settle", "snapshot", "stop"}


def test_flag_table_lists_every_flag_and_action_table_every_action():
    text = DOC.read_text()
    documented = {flag for row in re.findall(r"^\| (`--.*?) \|", text, re.M)
                  for flag in re.findall(r"`(--[a-z-]+)", row)}
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {opt for a in parser._actions for opt in a.option_strings if opt.startswith("--")}
    assert documented == flags - {"--help"}
    actions = set(re.findall(r"^\| `([a-z]+)` \|", text, re.M))
    assert {d for d in ACTION_KEYS if d not in ("opened", "minimized", "restored",
                                                  "closed")} <= actions
