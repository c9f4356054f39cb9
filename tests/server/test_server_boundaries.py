"""Module boundaries the project relies on."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "reference_server"
# "reference_server itself must never import bench"; and the sync core stays
# free of HTTP so a team can read the rules without the framework.
CORE_MODULES = ("core.py", "store.py", "validate.py", "sqlite_store.py")
HTTP_NAMES = ("starlette", "uvicorn", "httpx", "websockets")


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module.split(".")[0])
    return out


def test_reference_server_never_imports_bench():
    offenders = [p.name for p in PKG.glob("*.py") if "bench" in imports(p)]
    assert offenders == []


def test_core_has_no_http():
    for name in CORE_MODULES:
        assert not imports(PKG / name) & set(HTTP_NAMES), name


def test_modules_stay_small():
    big = [(p.name, n) for p in PKG.glob("*.py")
           if (n := len(p.read_text().splitlines())) > 400]
    assert big == []
