"""A suite's items in lanes (bench.suite.lanes): checked up front, simulations
before real items, one calibration, solo fleets here, the longest first, the
results in the order given, the first error stops the suite."""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path

import pytest

from bench.cli import main
from bench.rules.expect import ItemResult
from bench.suite import SuiteError, lanes
from bench.suite.lanes import Task, plan_tasks, run_tasks

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "scenarios" / "traces"


def _task(i: int, kind: str, weight: float = 0.0, solo: bool = False) -> Task:
    return Task(index=i, path=Path(f"item-{i}.yaml"), kind=kind, options={}, weight=weight,
                solo=solo, profiles=("3g",) if kind == "real" else ())


def test_lanes_run_sims_then_one_calibration_then_solo_fleets_then_the_longest_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[str] = []

    def fake(task: Task, out_root) -> ItemResult:
        done.append(f"{task.kind}{task.index}")
        return ItemResult(name=str(task.index), kind=task.kind, policy="planado", results=(),
                          expect={}, unmet=())

    monkeypatch.setattr(lanes, "run_task", fake)
    tasks = [_task(0, "real", 600), _task(1, "trace"), _task(2, "real", 1800),
             _task(3, "sim", 10), _task(4, "real", 900, solo=True), _task(5, "sim", 99),
             _task(6, "real", 1200)]
    prepared: list[list[int]] = []
    # One thread runs the lanes' tasks in the order they were handed over.
    results = run_tasks(tasks, None, jobs=2, executor=lambda n: concurrent.futures.ThreadPoolExecutor(1),
                        prepare_real=lambda real: (prepared.append([t.index for t in real]),
                                                   done.append("calibrate"), {0})[-1])
    # Item 0 is marked alone by the calibration (its links keep the proxy busy).
    assert done == ["trace1", "sim5", "sim3", "calibrate", "real0", "real4", "real2", "real6"]
    assert prepared == [[0, 2, 4, 6]]
    assert [r.name for r in results] == [str(i) for i in range(7)]  # the order given


def test_one_lane_runs_the_items_in_the_order_given(monkeypatch: pytest.MonkeyPatch) -> None:
    done: list[int] = []
    monkeypatch.setattr(lanes, "run_task", lambda t, out: done.append(t.index) or ItemResult(
        name="x", kind=t.kind, policy="planado", results=(), expect={}, unmet=()))
    run_tasks([_task(0, "real", 1), _task(1, "real", 9), _task(2, "sim", 1), _task(3, "sim", 9)],
              None, jobs=1)
    assert done == [2, 3, 0, 1]  # simulations first; no reordering without lanes


def test_jobs_outside_its_bounds_is_refused() -> None:
    with pytest.raises(SuiteError, match=r"--jobs: expected 1\.\.16 lanes, got 17"):
        run_tasks([], None, jobs=17)


def test_auto_jobs_is_one_per_core_at_most_four_and_one_with_a_teams_server() -> None:
    assert lanes.auto_jobs() == max(1, min(4, os.cpu_count() or 1))
    assert lanes.auto_jobs("https://staging.example") == 1


def test_planning_checks_every_item_before_anything_plays(tmp_path: Path, pair: str) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(pair)
    bad = tmp_path / "bad.yaml"
    bad.write_text(pair.replace("duration: 6m", "duration: soon"))
    with pytest.raises(SuiteError, match="bad.yaml"):
        plan_tasks([good, bad], ("sim",), {})
    # A real item's own checks too: a K its profile cannot run at.
    with pytest.raises(SuiteError, match="good.yaml.*cannot run at time scale K=600"):
        plan_tasks([good], ("real",), {"time_scale": 600.0})
    both = plan_tasks([good, TRACES / "planado_clean_day.jsonl"], ("sim", "real"), {})
    assert [(t.kind, t.label) for t in both] == [("sim", " [sim]"), ("real", " [real]"), ("trace", "")]
    real = both[1]
    assert real.weight == 9 * 60 and "3g" in real.profiles and not real.solo  # 3 devices
    assert both[0].weight == 9 * 60 * 3


def test_a_bad_item_stops_the_run_before_the_good_one_plays(tmp_path: Path, capsys, pair: str) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(pair)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [")
    out = tmp_path / "out"
    assert main(["run", str(good), str(bad), "--mode", "sim", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "-- " not in err  # nothing ran
    assert not out.exists() or not any(out.rglob("index.html"))


def test_two_simulations_in_two_process_lanes(tmp_path: Path, capsys, pair: str) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(pair)
    b.write_text(pair.replace("name: tiny-pair", "name: tiny-other"))
    out = tmp_path / "out"
    assert main(["run", str(a), str(b), "--mode", "sim", "--jobs", "2", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "2/2 items hold" in table
    assert table.index("a.yaml") < table.index("b.yaml")
    assert {p.parent.name for p in out.glob("run-*/*/index.html")} >= {"tiny-pair-sim", "tiny-other-sim"}


def test_an_item_failing_in_a_lane_is_a_one_line_error(tmp_path: Path, pair: str) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(pair)
    b.write_text(pair.replace("name: tiny-pair", "name: tiny-other"))
    tasks = plan_tasks([a, b], ("sim",), {})
    b.write_text("name: [")  # broken after the checks, before it runs
    with pytest.raises(SuiteError, match="b.yaml") as err:
        run_tasks(tasks, tmp_path / "out", jobs=2)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("argv,needle", [
    (["--jobs", "0"], "argument --jobs: must be in [1, 16], got 0"),
    (["--jobs", "many"], "argument --jobs: expected 'auto' or a whole number, got 'many'"),
    (["--jobs", "2", "--target-server", "http://127.0.0.1:9", "--target-token", "x"],
     "--jobs 2 with --target-server"),
])
def test_jobs_flag_errors_are_one_line(argv, needle, capsys) -> None:
    assert main(["run", str(TRACES), "--no-report", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err


def test_the_calibration_runs_once_and_marks_busy_links_to_run_alone(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.real import calibrate as cal

    asked: list[list[str]] = []

    def fake(profiles):
        asked.append(list(profiles))
        return cal.Calibration(profiles={n: cal.ProfileScale(profile=n, k=k, comp_ms=3.0, drift=0.0,
                                                             why="")
                                         for n, k in (("3g", 60.0), ("lte", 12.0), ("wifi", 26.0))})

    monkeypatch.setattr(cal, "calibrate", fake)
    lines: list[str] = []
    tasks = [Task(index=0, path=Path("pair.yaml"), kind="real", options={}, profiles=("3g",)),
             Task(index=1, path=Path("city.yaml"), kind="real", options={}, profiles=("lte", "wifi")),
             Task(index=2, path=Path("slow.yaml"), kind="real", options={"time_scale": 2.0},
                  profiles=("lte",))]
    # 3G at K = 45 moves 4.4 MB a wall second; LTE at K = 9, 13.5 (alone); at K = 2, 3.
    assert lanes.calibrate_real(tasks, echo=lines.append) == {1}
    assert asked == [["3g", "lte", "wifi"]]
    assert lines == ["time scale calibration: 3g K=60, lte K=12, wifi K=26 (calibrated now)"]


LANE_PARENT = """
import os, sys, time
sys.path.insert(0, {root!r})
from bench.suite.lanes import _process_pool

def pid(_):
    time.sleep(0.5)
    return os.getpid()

if __name__ == "__main__":
    pool = _process_pool(2)
    print(*sorted(set(pool.map(pid, range(4)))), flush=True)
    time.sleep(60)
"""


def test_lanes_stop_when_their_suite_is_killed(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(LANE_PARENT.format(root=str(ROOT)))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(x) for x in proc.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids)
    finally:
        proc.kill()
        proc.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not reaped: its parent was killed) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
