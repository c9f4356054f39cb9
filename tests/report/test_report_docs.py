"""docs/reports.md: every command it shows parses."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bench.cli import build_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "reports.md"


def _commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S)
    return [line.split("#")[0].strip() for b in blocks for line in b.splitlines() if line.startswith("syncbench ")]


@pytest.mark.parametrize("command", _commands())
def test_doc_commands_parse(command):
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert args.command in ("report", "compare")


def test_doc_shows_both_commands():
    assert {c.split()[1] for c in _commands()} == {"report", "compare"}
