"""The engine is sans-I/O: it imports no I/O, clock, randomness or logging module
(STYLE.md point 1), and nothing under reference_client imports bench."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "reference_client"
BRAIN = sorted([*(ROOT / "engine").glob("*.py"), *(ROOT / "policies").rglob("*.py"),
                ROOT / "mutants.py", ROOT / "__init__.py"])
FORBIDDEN = {"socket", "asyncio", "httpx", "time", "random", "logging", "threading", "os",
             "sqlite3", "datetime", "subprocess", "select", "selectors", "multiprocessing",
             "uuid", "secrets", "io", "pathlib", "bench"}
# Everything the brain may import: a closed list, so a new dependency is a decision.
# hashlib and json: pure functions, for the snapshot's value digests (no I/O).
ALLOWED = {"__future__", "dataclasses", "typing", "collections", "math", "hashlib", "json",
           "reference_client"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0] if node.level == 0 else "reference_client")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            roots.add("__import__")
    return roots


def test_brain_modules_found():
    assert len(BRAIN) >= 8


@pytest.mark.parametrize("path", BRAIN, ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_imports_no_io(path):
    roots = imported_roots(path)
    assert not roots & FORBIDDEN, f"{path.name} imports {sorted(roots & FORBIDDEN)}"
    assert roots <= ALLOWED, f"{path.name} imports {sorted(roots - ALLOWED)} (not in ALLOWED)"


def test_nothing_under_reference_client_imports_bench():
    for path in ROOT.rglob("*.py"):
        assert "bench" not in imported_roots(path), path


def test_checker_catches_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import time\n    from random import random\n")
    assert {"time", "random"} <= imported_roots(bad)


def test_an_action_made_by_maker_is_the_one_its_class_makes():
    """actions.maker (the engine's hot path) builds the same frozen object."""
    import dataclasses

    from reference_client.engine import actions as A

    samples = {"event": {"ev": "x"}, "sync": "w1-s1", "trigger": "timer", "mode": "full",
               "request": {"changes": []}, "file": "f1", "dir": "up", "bytes": 5, "offset": 0,
               "record": "job-1", "sha256": "ab", "deadline": 1.5, "n": 3, "at": None}
    for cls in A.ALL_ACTIONS:
        kw = {f.name: samples[f.name] for f in dataclasses.fields(cls)}
        made = A.maker(cls)(*kw.values())
        assert type(made) is cls and made == cls(**kw) and repr(made) == repr(cls(**kw))
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.__setattr__(next(iter(kw)), None)
