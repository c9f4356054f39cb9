"""The server's configuration, entered once.

Theory of operation: the CLI (``python -m reference_server`` or ``syncbench
serve``), the test helpers and the benchmark all build one
:class:`ServerConfig` and hand it to :func:`reference_server.app.create_app`;
nothing else reads flags or the environment.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# Where the bench's docs tell users to point their apps.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
# ":memory:" is the test default; the CLI defaults to a file so data survives.
DEFAULT_DB = "syncbench-server.db"
# Files of a PostgreSQL-backed server when --files-dir is not given (relative
# to the working directory: several instances started there share it).
DEFAULT_PG_FILES_DIR = "syncbench-server.files"
# Read when --admin-token is not given (keeps the secret out of `ps` output).
ADMIN_TOKEN_ENV = "SYNCBENCH_ADMIN_TOKEN"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    # An SQLite path, ":memory:", or a postgresql:// URL.
    db: str = ":memory:"
    # Directory of stored files; None: "<db>.files" next to the db, or a
    # temporary directory for ":memory:".
    files_dir: str | None = None
    admin_token: str | None = None
    trace: str | None = None
    # Wall-clock seconds of trace t=0; None: the moment the app is created.
    trace_epoch: float | None = None
    # "t = (now - epoch) * K": spec seconds per wall second.
    time_scale: float = 1.0
    # synchronous=FULL (survives power loss) instead of NORMAL (survives kill -9).
    durable: bool = False
    # A deliberately broken server (reference_server.mutants), for the bench's selftest.
    mutant: str | None = None
    wall: Callable[[], float] = field(default=time.time)

    def __post_init__(self) -> None:
        if not self.time_scale > 0:
            raise ValueError("time_scale must be positive")
        from reference_server.mutants import check_name

        check_name(self.mutant)

    @property
    def is_postgres(self) -> bool:
        """``db`` is a ``postgresql://`` URL (else an SQLite path or ``:memory:``)."""
        return self.db.startswith(("postgresql://", "postgres://"))


def admin_token_from_env(given: str | None) -> str | None:
    return given or os.environ.get(ADMIN_TOKEN_ENV) or None
