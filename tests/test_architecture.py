"""Dependencies point one way (STYLE.md 3), checked on the source.

- ``reference_client`` and ``reference_server`` never import ``bench``;
- rule checkers read traces only: ``bench.rules`` and ``bench.trace`` import
  nothing of the simulator, links, real runs, load or reports;
- no module imports another that imports it back, directly or around a
  circle (type-only imports count);
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


def test_mitmproxy_only_in_the_capture_proxy():
    # The capture's translator, mapping, HAR and app-log readers are pure: a HAR
    # import needs no proxy, and mitmproxy is an extra (.[capture]).
    files = [f for f in modules_under("bench") + modules_under("reference_client")
             + modules_under("reference_server")
             if f.relative_to(ROOT).as_posix() not in ("bench/capture/addon.py",
                                                       "bench/capture/live.py")]
    assert offenders(files, ("mitmproxy",)) == []


def test_importing_the_cli_loads_no_locust_nor_simulator():
    code = ("import sys; import bench.cli; bench.cli.build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent', 'simpy', 'matplotlib', 'mitmproxy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _module_graph() -> dict[str, set[str]]:
    """First-party module -> the first-party modules it imports (any import,
    type-only and function-level ones too). A package's ``__init__`` is not a
    node: it is the package's face, and an arrow to it stands for the names it
    hands on."""
    files = {}
    for top in ("bench", "reference_client", "reference_server"):
        for f in modules_under(top):
            rel = f.relative_to(ROOT).with_suffix("")
            if rel.name == "__init__":
                continue
            files[".".join(rel.parts)] = f
    graph: dict[str, set[str]] = {m: set() for m in files}
    for mod, f in files.items():
        tree = ast.parse(f.read_text(encoding="utf-8"), str(f))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                if node.level:
                    base = ".".join(mod.split(".")[:-node.level] + [node.module])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base
                           for a in node.names]
            graph[mod].update(t for t in targets if t in files and t != mod)
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    # One-day-three-drivers: "the import graph has no circles". Type-only
    # imports count: a class split into mixins that import their host back,
    # or two modules naming each other's classes, is a circle here too.
    graph = _module_graph()
    assert len(graph) > 150
    assert _circles(graph) == []


def test_the_circle_finder_finds_circles():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_the_scenario_model_imports_no_driver():
    # "bench/scenario/parse.py imports the simulator": the day model sits
    # under the three drivers (sim, real, load) and the suite, never above.
    banned = ("bench.sim", "bench.real", "bench.load", "bench.report", "bench.suite", "bench.cli",
              "simpy", "locust")
    assert offenders(modules_under("bench", "scenario"), banned) == []


def test_the_drivers_import_no_suite():
    # "bench/real subclasses an error of bench/suite which imports bench/real":
    # the suite runs the drivers; the drivers never reach back up to it.
    files = modules_under("bench", "real") + modules_under("bench", "sim") + modules_under("bench", "load")
    assert offenders(files, ("bench.suite", "bench.cli", "bench.pytest_plugin")) == []
