"""Only ``bench.load``'s Locust modules import Locust; the CLI and the plain modules do not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCUST_MODULES = {"users.py", "locustfile.py", "runner.py"}


def _clean(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)


def test_importing_the_cli_and_plain_load_modules_imports_no_locust() -> None:
    r = _clean("import sys, bench.cli, bench.cli.cmd_load\n"
               "bench.cli.build_parser()\n"
               "import bench.load.config, bench.load.device, bench.load.gates, "
               "bench.load.series, bench.load.profiles, bench.load.setup, bench.load.main, "
               "bench.load.capacity, bench.load.report\n"
               "bad = [m for m in ('locust', 'gevent') if m in sys.modules]\n"
               "assert not bad, bad\n")
    assert r.returncode == 0, r.stderr


def test_no_module_outside_the_load_package_imports_locust() -> None:
    offenders = []
    paths = [p for top in ("bench", "reference_client", "reference_server", "benchmarks")
             for p in (ROOT / top).glob("**/*.py")]
    for path in paths:
        rel = path.relative_to(ROOT)
        if rel.parts[:2] == ("bench", "load") and rel.name in LOCUST_MODULES:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if "import locust" in text or "from locust" in text:
            offenders.append(str(rel))
    assert offenders == []
