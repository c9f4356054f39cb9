"""End-to-end real runs: clients, shaped links and the reference server on loopback."""

from __future__ import annotations

import socket
from pathlib import Path

import psutil
import pytest

from bench.real import RealRunError, run_real_item
from bench.scenario import load_scenario

# Two devices, four spec-minutes at K = 60 (about 4 s of play, 6 with settling).
SMALL = """
name: real-small
policy: planado
seed: 3
duration: 4m
settle: 2m
settle_link: 3g
devices:
  - id: w1
    link: 3g
    {client}
    timeline:
      - {{t: 0, app: opened}}
      - {{t: 40, edit: status, record: job-1, status: en_route}}
      - {{t: 80, edit: text, record: job-1, text: arrived}}
      - {{t: 150, manual: pull}}
  - id: w2
    link: edge
    timeline:
      - {{t: 0, app: opened}}
      - {{t: 60, edit: text, record: w2-r1, text: new}}
      - {{t: 120, link: offline}}
      - {{t: 170, link: 3g}}
dispatch:
  - {{t: 10, op: create, record: job-1, assignee: w1, status: new}}
  - {{t: 100, op: status, record: job-1, assignee: w1, status: paused}}
"""


def _scenario(tmp_path: Path, client: str = "", name: str = "small.yaml"):
    path = tmp_path / name
    path.write_text(SMALL.format(client=client))
    return path, load_scenario(path)


def _verdicts(item) -> dict[str, str]:
    return {r.id: r.verdict for r in item.results}


@pytest.mark.slow
def test_real_small_run_passes_the_rules_and_writes_a_report(tmp_path: Path) -> None:
    path, sc = _scenario(tmp_path)
    said: list[str] = []
    item = run_real_item(path, sc, tmp_path / "out", echo=lambda *a: said.extend(a))
    v = _verdicts(item)
    assert item.kind == "real" and item.holds, item.unmet
    assert "fail" not in v.values(), v
    for rule in ("core.converge", "core.no_loss", "planado.cadence", "planado.push_sync",
                 "planado.sync_on_status"):
        assert v[rule] == "pass", (rule, v[rule])
    # --time-scale auto: K chosen from the calibration, said once, in the trace's meta.
    k = item.extra["time_scale"]
    assert item.extra["mode"] == "real" and item.extra["scale"]["auto"] and 1 <= k <= 60
    assert set(item.extra["scale"]["base_rtt_ms"]) == {"3g", "edge"}
    assert said[0].startswith(f"real-small: time scale K={k:g} (auto: 60% of K=")
    assert "the largest at which 3g, edge keep within" in said[0]
    trace = item.report_dir / "trace.jsonl"
    meta = trace.read_text().splitlines()[0]
    assert '"mode":"real"' in meta and '"settled":true' in meta and f'"time_scale":{k:g}' in meta
    assert (item.report_dir / "index.html").exists()


@pytest.mark.slow
def test_real_mutant_is_caught(tmp_path: Path) -> None:
    path, sc = _scenario(tmp_path, client="client: ignores_manual")
    item = run_real_item(path, sc, None, echo=lambda *a: None)
    assert _verdicts(item)["core.manual_sync"] == "fail"


def test_real_refuses_a_time_scale_the_proxy_cannot_honour(tmp_path: Path) -> None:
    path, sc = _scenario(tmp_path)
    with pytest.raises(RealRunError, match=r"3g.*time scale K=500.*at most --time-scale 100"):
        run_real_item(path, sc, None, time_scale=500)
    with pytest.raises(RealRunError, match="--time-scale must be .auto. or in"):
        run_real_item(path, sc, None, time_scale=0)


def test_real_refuses_a_fleet_past_its_named_limit(tmp_path: Path) -> None:
    from bench.real.run import MAX_REAL_DEVICES

    path = tmp_path / "big.yaml"
    path.write_text(f"name: big\npolicy: planado\nduration: 1m\nfleet:\n  size: {MAX_REAL_DEVICES + 1}\n"
                    "  link: 3g\n  behaviour: field_worker\n")
    with pytest.raises(RealRunError, match=rf"big\.yaml: {MAX_REAL_DEVICES + 1} devices; a real run "
                                           rf"carries at most {MAX_REAL_DEVICES}"):
        run_real_item(path, load_scenario(path), None, time_scale=10)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Boom(RuntimeError):
    pass


# In this process, a failure at the end; with a device worker, Ctrl-C mid-play.
@pytest.mark.parametrize(("workers", "exc"), [(0, Boom), (1, KeyboardInterrupt)])
def test_real_failure_stops_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       workers: int, exc: type[BaseException]) -> None:
    """A failure or Ctrl-C mid-run leaves no child process and no listening port behind."""
    import bench.real.procs as procs_mod
    import bench.real.run as run_mod

    seen: dict = {}
    me = psutil.Process()

    def boom(*args, **kwargs):
        # multiprocessing's resource tracker is shared by the interpreter and
        # outlives any one run by design; it is not ours to stop.
        kids = [p for p in me.children(recursive=True)
                if "resource_tracker" not in " ".join(p.cmdline())]
        seen["children"] = [p.pid for p in kids]
        seen["ports"] = [c.laddr.port for p in [me, *kids]
                         for c in p.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN]
        raise exc("boom")

    async def boom_at_snapshot(self, devices):  # the final server snapshot fails
        boom()

    if workers:
        monkeypatch.setattr(procs_mod.ProcessGroups, "wait", boom)  # Ctrl-C while they play
    else:
        monkeypatch.setattr(run_mod.Dispatcher, "snapshot", boom_at_snapshot)
    path, sc = _scenario(tmp_path)
    sc = sc.but(duration_s=30.0, settle_s=30.0)
    with pytest.raises(exc):
        run_real_item(path, sc, None, workers=workers, echo=lambda *a: None)
    assert len(seen["children"]) >= 2 + workers  # server, proxy (and the device worker)
    assert len(seen["ports"]) >= 4  # server, proxy API, two device proxies
    for pid in seen["children"]:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not [p for p in seen["ports"] if _listening(p)]


@pytest.mark.parametrize(("name", "cmdline", "log"), [
    ("reference server", "reference_server", "server.log"),
    ("link proxy", "toxiproxy serve", "proxy.log")])
def test_a_child_dying_mid_run_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     name: str, cmdline: str, log: str) -> None:
    """"A real run whose server or proxy dies mid-run ... should say in one line
    which process died, when, and where its log is" -- and stop playing at once."""
    import time

    import bench.real.run as run_mod

    me = psutil.Process()
    steps = run_mod.Dispatcher.steps

    async def kill_then_step(self, dispatch):  # runs once t = 0 is chosen: mid-play
        victim = [p for p in me.children(recursive=True) if cmdline in " ".join(p.cmdline())]
        assert len(victim) == 1, victim
        victim[0].kill()
        await steps(self, dispatch)

    monkeypatch.setattr(run_mod.Dispatcher, "steps", kill_then_step)
    path, sc = _scenario(tmp_path)
    started = time.monotonic()
    with pytest.raises(RealRunError) as err:
        run_real_item(path, sc, tmp_path / "out", echo=lambda *a: None)
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: {name} (pid ") and "died at t=" in msg
    assert "(killed by SIGKILL); its log: " in msg
    kept = Path(msg.rsplit("its log: ", 1)[1])
    assert kept.name == log and kept.is_file() and tmp_path in kept.parents
    # Cut short: the 6 spec-minutes at K = 60 are not played out against nothing.
    assert time.monotonic() - started < 30
    assert [p for p in me.children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())] == []
