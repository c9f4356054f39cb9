"""Helpers for the simulator tests: run a scenario written inline, get its events."""

from __future__ import annotations

import io
from typing import Any

import orjson
import yaml

from bench.scenario import parse_scenario
from bench.sim import simulate


def scenario(text: str, **changes: Any):
    sc = parse_scenario(yaml.safe_load(text), "<test>")
    return sc.but(**changes) if changes else sc


def run(text: str, **changes: Any) -> tuple[Any, list[dict[str, Any]]]:
    """Simulate; returns (SimResult, events without the meta line)."""
    buf = io.BytesIO()
    result = simulate(scenario(text, **changes), trace=buf)
    lines = [orjson.loads(x) for x in buf.getvalue().splitlines() if x]
    assert lines[0]["ev"] == "meta"
    return result, lines[1:]


def verdicts(result: Any) -> dict[str, str]:
    return {r.id: r.verdict for r in result.results}


def of(events: list[dict[str, Any]], ev: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in events if e["ev"] == ev and all(e.get(k) == v for k, v in match.items())]
