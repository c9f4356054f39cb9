"""A throwaway PostgreSQL cluster for tests and benchmarks.

Theory of operation: :func:`running_postgres` finds ``initdb`` and ``pg_ctl``
(on ``PATH``, else Debian's ``/usr/lib/postgresql/<version>/bin``), creates a
cluster in a fresh temporary directory, starts it listening on a Unix socket
in that directory only (``listen_addresses=''``: no TCP port to collide on),
yields a :class:`PostgresCluster`, and at the end stops it and removes the
directory. PostgreSQL refuses to run as root, so as root the cluster runs as
``nobody`` (the directory is handed to that user; root can still reach the
socket).

    with running_postgres() as pg:
        url = pg.create_database()       # a fresh, empty database
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess as sp
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Start/stop may be slow on a loaded 2-core CI machine.
PG_TIMEOUT_S = 60
# The user the cluster runs as when we are root (exists on every Debian).
UNPRIVILEGED_USER = "nobody"
# Any port number works with a private socket directory; it only names the socket file.
SOCKET_PORT = 5432


class PostgresUnavailable(RuntimeError):
    """No initdb/pg_ctl here: tests that need PostgreSQL skip with this message."""


def find_pg_bin() -> str:
    """The directory holding ``initdb`` and ``pg_ctl``, newest Debian version first."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl", path=os.path.dirname(initdb)):
        return os.path.dirname(initdb)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    for path in reversed(found):
        if os.access(os.path.join(os.path.dirname(path), "pg_ctl"), os.X_OK):
            return os.path.dirname(path)
    raise PostgresUnavailable("PostgreSQL is not installed (no initdb on PATH or in "
                              "/usr/lib/postgresql/*/bin; Debian: apt-get install postgresql)")


@dataclass(slots=True, kw_only=True)
class PostgresCluster:
    bin_dir: str
    data_dir: str
    socket_dir: str
    user: str
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{dbname}?host={self.socket_dir}&port={SOCKET_PORT}"

    def create_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its URL."""
        import psycopg
        name = f"{prefix}{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _as_owner_kwargs() -> tuple[dict, str]:
    """subprocess kwargs that run a child as the cluster's owner, and that user's name."""
    if os.geteuid() != 0:
        return {}, pwd.getpwuid(os.geteuid()).pw_name
    pw = pwd.getpwnam(UNPRIVILEGED_USER)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}, pw.pw_name


@contextmanager
def running_postgres() -> Iterator[PostgresCluster]:
    """Run a private PostgreSQL cluster until the block ends."""
    bin_dir = find_pg_bin()
    as_owner, user = _as_owner_kwargs()
    # Under /tmp directly, not pytest's 0700 tmp tree: the owner must reach it.
    root = tempfile.mkdtemp(prefix="syncbench-pg-")
    data, sock = os.path.join(root, "data"), os.path.join(root, "sock")
    os.makedirs(sock)
    if as_owner:
        for p in (root, sock):
            os.chown(p, as_owner["user"], as_owner["group"])
    # HOME and cwd the owner can read; nobody's home (/nonexistent) is not.
    env = {**os.environ, "HOME": root, "LC_ALL": "C", "LANG": "C"}
    run = dict(env=env, cwd=root, stdout=sp.PIPE, stderr=sp.STDOUT, timeout=PG_TIMEOUT_S,
               **as_owner)
    started = False
    try:
        # --no-sync: a throwaway cluster need not fsync its template files.
        r = sp.run([os.path.join(bin_dir, "initdb"), "-D", data, "-U", user,
                    "--auth=trust", "--no-sync", "-E", "UTF8"], **run)
        if r.returncode:
            raise RuntimeError(f"initdb failed: {r.stdout.decode(errors='replace')[-2000:]}")
        opts = f"-c listen_addresses='' -k {sock} -p {SOCKET_PORT} -c max_connections=100"
        r = sp.run([os.path.join(bin_dir, "pg_ctl"), "-D", data, "-l",
                    os.path.join(root, "log"), "-o", opts, "-w", "-t", str(PG_TIMEOUT_S),
                    "start"], **run)
        if r.returncode:
            log = ""
            if os.path.exists(os.path.join(root, "log")):
                with open(os.path.join(root, "log"), errors="replace") as f:
                    log = f.read()[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {r.stdout.decode(errors='replace')}{log}")
        started = True
        yield PostgresCluster(bin_dir=bin_dir, data_dir=data, socket_dir=sock, user=user)
    finally:
        if started:
            # immediate: a throwaway cluster needs no checkpoint on the way out.
            sp.run([os.path.join(bin_dir, "pg_ctl"), "-D", data, "-m", "immediate", "-w",
                    "stop"], **run)
        shutil.rmtree(root, ignore_errors=True)
