"""Fixtures for the reference server tests: one in-process server per module.

Tests share the server and keep out of each other's way by using fresh user
and record ids (``uid``), which keeps the suite fast (one start per module).
"""

from __future__ import annotations

import itertools

import httpx
import pytest

from reference_server.testing import running_server

_counter = itertools.count(1)


@pytest.fixture
def uid():
    """A fresh id suffix: ``uid("w")`` -> ``"w-17"``."""
    def make(prefix: str) -> str:
        return f"{prefix}-{next(_counter)}"
    return make


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    trace = tmp_path_factory.mktemp("trace") / "server.jsonl"
    with running_server(trace=str(trace)) as s:
        yield s


@pytest.fixture(scope="module")
def client(srv):
    with httpx.Client(base_url=srv.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="session")
def pg_cluster():
    """One private PostgreSQL cluster for the whole session (stopped and removed after)."""
    from reference_server.pg_testing import PostgresUnavailable, running_postgres
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'syncbench[pg]')")
    try:
        cm = running_postgres()
        cluster = cm.__enter__()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield cluster
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_db(request, tmp_path):
    """A fresh database for each backend: an SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "server.db")
    return request.getfixturevalue("pg_cluster").create_database()
