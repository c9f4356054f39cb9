"""Everything one running server holds, built from a :class:`ServerConfig`.

Theory of operation: :class:`ServerState` opens the store, the blob directory,
the tracer and the token table, and builds the sync core; the HTTP adapter
(``app.py``, ``files_api.py``) only translates between requests and these
objects. ``close()`` releases them (and deletes the temporary file directory
of an in-memory server).
"""

from __future__ import annotations

import secrets
import shutil
import tempfile

from reference_server.auth import ADMIN, TokenTable, new_token, token_hash
from reference_server.backends import open_store
from reference_server.config import DEFAULT_PG_FILES_DIR, ServerConfig
from reference_server.core import Principal, SyncCore
from reference_server.files import BlobStore
from reference_server.metrics import Metrics
from reference_server.push import PushHub
from reference_server.pushbus import PgPushBus
from reference_server.tracing import TraceClock, Tracer

# Bytes of the HMAC key for cursors, created once per database.
CURSOR_SECRET_BYTES = 32


class ServerState:
    def __init__(self, config: ServerConfig):
        self.config = config
        self.store = open_store(config.db, durable=config.durable)
        self._tmp: str | None = None
        if config.files_dir is not None:
            files_dir = config.files_dir
        elif config.db == ":memory:" or config.db.startswith("file::memory:"):
            files_dir = self._tmp = tempfile.mkdtemp(prefix="syncbench-files-")
        elif config.is_postgres:
            # A URL has no directory to sit next to; instances of one database
            # on one machine share this one.
            files_dir = DEFAULT_PG_FILES_DIR
        else:
            files_dir = config.db + ".files"
        self.blobs = BlobStore(files_dir)
        self.clock = TraceClock(epoch=config.trace_epoch, scale=config.time_scale,
                                wall=config.wall)
        self.tracer = Tracer(config.trace, self.clock)
        secret = self.store.get_meta("cursor_secret")
        if secret is None:
            secret = secrets.token_hex(CURSOR_SECRET_BYTES)
            with self.store.transaction():
                self.store.set_meta("cursor_secret", secret)
        self.core = SyncCore(store=self.store, tracer=self.tracer, secret=bytes.fromhex(secret),
                             mutant=config.mutant)
        # user -> device ids, for pushes to devices that are not connected.
        self.user_devices: dict[str, list[str]] = {}
        shared = getattr(self.store, "shared", False)
        self.tokens = TokenTable(miss=self._provisioned_elsewhere if shared else None)
        self.admin_token = config.admin_token or new_token()
        self.tokens.add(token_hash(self.admin_token), ADMIN)
        for d in self.store.devices():
            self.tokens.add(d.token_hash, Principal(device=d.id, user=d.user, role=d.role))
            self.user_devices.setdefault(d.user, []).append(d.id)
        self.hub = PushHub(self.tracer, self._devices_of if shared else
                           (lambda user: self.user_devices.get(user, ())))
        # Pushes to devices held by other instances on the same database.
        self.bus = PgPushBus(config.db, self.hub) if shared else None
        self.hub.bus = self.bus
        self.metrics = Metrics()
        # File ids with a PATCH or finish running: one at a time per file.
        self.busy_files: set[str] = set()

    def _provisioned_elsewhere(self, h: bytes) -> Principal | None:
        d = self.store.device_by_token_hash(h)
        return None if d is None else Principal(device=d.id, user=d.user, role=d.role)

    def _devices_of(self, user: str) -> list[str]:
        # Another instance may have provisioned devices of this user since start-up.
        return self.store.user_devices(user)

    def provision(self, *, user: str, role: str, device: str | None = None) -> str:
        """Create a user (if new) and a device; return the device's new token."""
        token = new_token()
        h = token_hash(token)
        d = self.core.add_device(ADMIN, user=user, role=role, device=device or user,
                                 token_hash=h)
        self.tokens.add(h, Principal(device=d.id, user=d.user, role=d.role))
        self.user_devices.setdefault(d.user, []).append(d.id)
        return token

    def close(self) -> None:
        self.tracer.close()
        self.store.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
