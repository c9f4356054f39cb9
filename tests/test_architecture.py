"""Dependencies point one way (STYLE.md 3), checked on the source.

- ``reference_client`` and ``reference_server`` never import ``bench``;
- rule checkers read traces only: ``bench.rules`` and ``bench.trace`` import
  nothing of the simulator, links, real runs, load or reports;
- ``locust`` is imported only inside ``bench.load`` (it monkey-patches the
  standard library on import), and importing the CLI does not import it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def modules_under(*parts: str) -> list[Path]:
    return sorted((ROOT.joinpath(*parts)).rglob("*.py"))


def offenders(files: list[Path], banned: tuple[str, ...]) -> list[str]:
    bad = []
    for f in files:
        for name in imports(f):
            if name == banned or any(name == b or name.startswith(b + ".") for b in banned):
                bad.append(f"{f.relative_to(ROOT)} imports {name}")
    return bad


def test_reference_implementations_never_import_the_bench():
    files = modules_under("reference_client") + modules_under("reference_server")
    assert files
    assert offenders(files, ("bench",)) == []


def test_rules_and_trace_read_traces_only():
    files = modules_under("bench", "rules") + modules_under("bench", "trace")
    banned = ("bench.sim", "bench.link", "bench.real", "bench.load", "bench.report", "bench.scenario",
              "reference_client", "reference_server", "simpy", "locust")
    assert offenders(files, banned) == []


def test_locust_only_inside_the_load_package():
    files = [f for f in modules_under("bench") + modules_under("reference_client") + modules_under("reference_server")
             if "load" not in f.relative_to(ROOT).parts[:2]]
    assert offenders(files, ("locust", "gevent")) == []


def test_importing_the_cli_loads_no_locust_nor_simulator():
    code = ("import sys; import bench.cli; bench.cli.build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent', 'simpy', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
