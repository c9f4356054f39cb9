"""Fuzz the trace reader and the rules behind it: a bad line is a TraceError, never a crash.

Hypothesis mutates the shipped example traces (lines dropped, duplicated or
swapped, fields removed or given any JSON value, kinds changed, raw bytes
inserted) and also feeds raw bytes. The reader must accept the trace or raise
one :class:`TraceError` naming the line; whatever it accepts, every rule of
both policies must check without raising ("a malformed trace ... gets a clear
one-line error naming what and where"). Bounded: a few hundred examples of at
most a few dozen lines.
"""

from __future__ import annotations

from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.rules import builtin_policies, check_events
from bench.trace import TraceReader
from bench.trace.reader import TraceError
from bench.trace.schema import EVENTS

TRACES = Path(__file__).parents[2] / "scenarios" / "traces"
BASE = {p.name: p.read_bytes().splitlines()[:40] for p in sorted(TRACES.glob("*.jsonl"))}
KINDS = sorted(EVENTS) + ["meta", "nonsense"]
EXAMPLES = 300

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=8) | st.sampled_from(["wifi", "edge", "offline", "closed", "photo", "up", "c-1",
                                              "w1", "s-1", "job-1", "\x00", "é" * 3]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6)


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(BASE)))
    lines = list(BASE[name])
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "swap", "field", "delete", "kind", "raw", "t"]))
        if op == "drop" and len(lines) > 1:
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "raw":
            lines.insert(i, draw(st.binary(max_size=30)))
        else:
            try:
                ev = orjson.loads(lines[i])
            except orjson.JSONDecodeError:
                continue
            if not isinstance(ev, dict) or not ev:
                continue
            key = draw(st.sampled_from(sorted(ev)))
            if op == "field":
                ev[key] = draw(json_values)
            elif op == "delete":
                del ev[key]
            elif op == "kind":
                ev["ev"] = draw(st.sampled_from(KINDS))
            else:  # t: a huge, negative or fractional time
                ev["t"] = draw(st.sampled_from([-1, 0, 1e300, 2**64, 0.1, -1e-9]))
            try:
                lines[i] = orjson.dumps(ev)
            except TypeError:  # an integer past 64 bits: write it as text
                lines[i] = str(ev).encode()
    return lines


def read_and_check(lines):
    try:
        reader = TraceReader(lines, name="fuzz.jsonl")
        events = list(reader)
    except TraceError as exc:
        msg = str(exc)
        assert msg.startswith("fuzz.jsonl:") and "\n" not in msg and len(msg) < 400, msg
        return
    for policy in builtin_policies().values():
        results = check_events(events, policy, meta=reader.meta)
        assert {r.id for r in results} == set(policy.rules)


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_traces_are_read_or_refused_with_one_line(lines):
    read_and_check(lines)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(st.lists(st.binary(max_size=60), max_size=5))
def test_raw_bytes_are_refused_with_one_line(lines):
    read_and_check(lines)
