"""``syncbench selftest`` modes: the real mode's flags are checked before anything starts."""

from __future__ import annotations

from bench.cli import main


def test_real_mode_refuses_only_with_one_line(capsys):
    assert main(["selftest", "--mode", "real", "--only", "ignores_push"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--only goes with --mode sim" in err and "\n" not in err


def test_sim_mode_only_runs_the_named_mutant(capsys):
    assert main(["selftest", "--only", "ignores_push"]) == 0
    out = capsys.readouterr().out
    assert "ignores_push" in out and "planado.push_sync" in out and "overpoll_10s" not in out
