"""The conformance suite passes on the reference server and catches a broken one."""

from __future__ import annotations

from reference_server.conformance import check_server
from reference_server.sqlite_store import SQLiteStore
from reference_server.testing import running_server


def test_reference_server_conforms(srv):
    assert check_server(srv.url, admin_token=srv.admin_token) == []


def test_suite_catches_a_server_that_applies_replays_twice(monkeypatch):
    # A server that forgets change ids: the exactly-once checks must fail.
    monkeypatch.setattr(SQLiteStore, "get_change", lambda self, device, change: None)
    monkeypatch.setattr(SQLiteStore, "put_change",
                        lambda self, applied: None)
    with running_server() as broken:
        failures = check_server(broken.url, admin_token=broken.admin_token)
    assert any("exactly once" in f for f in failures), failures
