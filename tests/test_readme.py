"""The README's two one-line commands work on a fresh copy of the project.

A copy of every tracked file goes to a temporary folder with no virtual
environment; the first command (set up + main job) must exit 0, then the
second (set up + tests) must exit 0 with the inner run reduced to the
``readme_smoke`` tests (see tests/conftest.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A fresh venv installs every dependency, and the main job runs the real suite
# at the K this machine's calibration finds (3-4 minutes at K = 30-45, longer
# when a loaded moment calibrates 3G lower).
SETUP_TIMEOUT_S = 1800


def readme_commands() -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)][:2]


@pytest.mark.readme_smoke
def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    main_cmd, test_cmd = readme_commands()
    assert text.index(main_cmd) < text.index(test_cmd) < text.index("## ")
    for cmd in (main_cmd, test_cmd):
        assert "\n" not in cmd and cmd.startswith("python3 -m venv .venv && ")
    assert "syncbench run" in main_cmd and "pytest" in test_cmd


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "blocks[1]" in ci and "README.md" in ci


def _tracked_copy(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-z", "--cached"],
                           cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("SYNCBENCH_README_SMOKE") == "1", reason="inner README run")
@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_readme_commands_work_in_a_fresh_copy(tmp_path):
    main_cmd, test_cmd = readme_commands()
    work = tmp_path / "syncbench"
    work.mkdir()
    _tracked_copy(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTEST_", "PYTHONPATH"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    env["SYNCBENCH_README_SMOKE"] = "1"
    outputs = []
    for cmd in (main_cmd, test_cmd):
        proc = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, capture_output=True, text=True,
                              timeout=SETUP_TIMEOUT_S)
        assert proc.returncode == 0, f"`{cmd}` exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        outputs.append(proc.stdout)
    assert "hold their expectations" in outputs[0]
    assert re.search(r"\d+ passed", outputs[1])
