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


def test_the_python_api_example_runs_against_a_server(tmp_path, monkeypatch):
    import asyncio
    import textwrap

    from realclient_helpers import web

    from reference_server.testing import running_server

    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    body = textwrap.indent(code, "    ")
    namespace: dict = {}
    exec(f"async def example(url, token):\n{body}\n    return dev", namespace)  # noqa: S102
    monkeypatch.chdir(tmp_path)  # the example's store and trace are relative paths
    with running_server() as srv:
        web(srv, "POST", "/v1/web/jobs", id="job-1", assignee=None)
        token = srv.provision("w1")
        web(srv, "POST", "/v1/web/jobs/job-1/assign", assignee="w1")
        dev = asyncio.run(asyncio.wait_for(namespace["example"](srv.url, token), 60))
    assert dev.errors == []
    assert (tmp_path / "w1.jsonl").exists() and (tmp_path / "w1-store").is_dir()
