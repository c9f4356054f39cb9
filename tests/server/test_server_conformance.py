"""The conformance suite passes on the reference server and catches every server mutant."""

from __future__ import annotations

import pytest

from bench.testing.conformance import CHECKS, check_server, run_conformance
from reference_server.mutants import SERVER_MUTANTS
from reference_server.sqlite_store import SQLiteStore
from reference_server.testing import running_server


def test_reference_server_conforms(srv):
    results = run_conformance(srv.url, admin_token=srv.admin_token)
    assert [r.name for r in results] == [c.name for c in CHECKS]
    assert [(r.name, r.failures) for r in results if not r.ok] == []


def test_a_second_run_against_the_same_server_is_as_clean(srv):
    # Fresh users and records under a new tag each run: nothing collides.
    assert check_server(srv.url, admin_token=srv.admin_token) == []
    assert check_server(srv.url, admin_token=srv.admin_token) == []


@pytest.mark.parametrize("mutant", sorted(SERVER_MUTANTS))
def test_every_server_mutant_fails_its_named_check(mutant):
    with running_server(mutant=mutant) as broken:
        results = run_conformance(broken.url, admin_token=broken.admin_token)
    failed = {r.name for r in results if not r.ok}
    assert SERVER_MUTANTS[mutant].check in failed, (mutant, failed)


def test_suite_catches_a_server_that_forgets_change_ids(monkeypatch):
    monkeypatch.setattr(SQLiteStore, "get_change", lambda self, device, change: None)
    monkeypatch.setattr(SQLiteStore, "put_change", lambda self, applied: None)
    with running_server() as broken:
        failures = check_server(broken.url, admin_token=broken.admin_token)
    assert any(f.startswith("exactly_once_retry:") for f in failures), failures


def test_a_check_that_cannot_read_the_answer_is_an_error_not_a_crash():
    # A wrong admin token: provisioning is refused, every check ends, none raises.
    with running_server() as srv:
        results = run_conformance(srv.url, admin_token="not-the-admin")
    assert all(r.status == "error" for r in results if r.name != "auth"), \
        [(r.name, r.status) for r in results]
    assert all("401" in r.failures[0] for r in results if r.status == "error")
