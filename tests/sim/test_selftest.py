"""selftest: every mutant fails its rule, the true policies pass every rule."""

from bench.cli import main
from bench.scenario.mutants import SERVER_MUTANTS
from bench.sim.selftest import plan, render, run_one, run_selftest
from reference_client.mutants import MUTANTS


def test_plan_covers_every_client_and_server_mutant_and_both_policies():
    names = {n for n, _ in plan()}
    assert names == set(MUTANTS) | set(SERVER_MUTANTS) | {"planado", "playmaker"}


def test_selftest_passes():
    rows = run_selftest()
    assert all(r.ok for r in rows), render(rows)


def test_a_mutant_that_breaks_nothing_is_reported_as_a_miss(monkeypatch):
    from bench.sim import selftest

    monkeypatch.setattr(selftest, "_verdicts", lambda sc: {"planado.cadence": "pass"})
    row = run_one("three_minute_timer", "client")
    assert not row.ok and "planado.cadence: pass" in row.detail


def test_cli_exit_status(capsys):
    assert main(["selftest", "--only", "ignores_push", "--only", "playmaker"]) == 0
    out = capsys.readouterr().out
    assert "selftest: 2/2 ok" in out and "ignores_push" in out
    assert main(["selftest", "--only", "nope"]) == 2
