"""The PostgreSQL store from the outside: ``serve --db postgresql://...``, conformance.

The store-level rules (exactly once, conflicts, cursors) run over both stores
in test_server_core.py; the kill -9 test in test_server_crash.py.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
import orjson
import pytest

from bench.cli import main
from bench.testing.conformance import check_server
from reference_server.testing import running_server

psycopg = pytest.importorskip("psycopg", reason="the PostgreSQL store needs the pg extra")


def test_serve_with_a_postgresql_url_stores_there(pg_cluster, tmp_path):
    url = pg_cluster.create_database()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "serve", "--db", url, "--port", "0", "--demo",
         "--files-dir", str(tmp_path / "files")], stdout=subprocess.PIPE, text=True)
    try:
        tokens = {}
        for line in proc.stdout:
            if line.startswith("{"):
                ready = orjson.loads(line)
                break
            name, _, tok = line.strip().rpartition(": ")
            tokens[name] = tok
        r = httpx.post(ready["url"] + "/v1/sync", json={"device": "w1", "cursor": None,
                                                       "mode": "download"},
                       headers={"Authorization": f"Bearer {tokens['token w1']}"}, timeout=30)
        assert [x["id"] for x in r.json()["records"]] == ["job-1", "job-2"]
    finally:
        proc.terminate()
        proc.wait(30)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 7
        assert conn.execute("SELECT count(*) FROM devices").fetchone()[0] == 4


def test_reference_server_on_postgresql_conforms(pg_cluster, tmp_path):
    with running_server(db=pg_cluster.create_database(), files_dir=str(tmp_path)) as srv:
        assert check_server(srv.url, admin_token=srv.admin_token) == []


def test_unreachable_postgresql_is_a_one_line_error(tmp_path, capsys):
    url = f"postgresql://nobody@/x?host={tmp_path}&port=1&connect_timeout=2"
    assert main(["serve", "--db", url, "--port", "0", "--files-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "database" in err and err.count("\n") == 1
