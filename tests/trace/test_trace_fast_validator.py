"""The reader's compiled fast path agrees with the field-by-field check on
every line: the same lines are valid, so error messages and acceptance never
drift apart."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.trace.reader import FAST_VALID, check_fields
from bench.trace.schema import EVENTS

values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["wifi", "edge", "offline", "opened", "text", "photo", "up", "create", "x", ""]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), min_size=1, max_size=2),
)


@st.composite
def events(draw):
    kind = draw(st.sampled_from(sorted(EVENTS)))
    ev = {"ev": kind}
    for name, _check, _required in EVENTS[kind]:
        if draw(st.integers(0, 9)) > 0:  # usually present
            ev[name] = draw(values)
    return kind, ev


@settings(max_examples=600, deadline=None)
@given(events())
def test_fast_path_agrees_with_check_fields(case):
    kind, ev = case
    assert FAST_VALID[kind](ev) == (check_fields(ev, EVENTS[kind], kind) is None)


def test_fast_path_accepts_every_kind_when_valid():
    good = {
        "link": {"t": 1, "dev": "d", "class": "lte"}, "app": {"t": 1, "dev": "d", "state": "closed"},
        "last_sync": {"t": 1, "dev": "d", "at": None},
        "dispatch": {"t": 1, "op": "create", "record": "r", "assignee": None},
        "snapshot": {"t": 1, "dev": "d", "records": {"r": 2}},
    }
    for kind, ev in good.items():
        assert FAST_VALID[kind](ev), kind
    assert not FAST_VALID["last_sync"]({"t": 1, "dev": "d"})  # required even though nullable
    assert not FAST_VALID["link"]({"t": True, "dev": "d", "class": "lte"})  # a bool is no number
