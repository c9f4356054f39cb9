"""SQLite implementation of :class:`reference_server.store.Store`.

Theory of operation: one connection, used from the event-loop thread only (the
HTTP adapter never calls the store from worker threads), in WAL mode so readers
never block the writer and a commit is one append to the log. Durability:
with ``synchronous=NORMAL`` a committed WAL frame is handed to the OS before
``COMMIT`` returns, so it survives ``kill -9`` of the server process (the OS
still holds it); ``durable=True`` selects ``synchronous=FULL`` which also
survives power loss at the price of an fsync per commit.

JSON columns (fields, field versions, files) are orjson text: records are read
whole and written whole, which is the access pattern of sync.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import orjson

from reference_server.store import AppliedChange, Device, FileMeta, Record

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, token_hash BLOB NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, version INTEGER NOT NULL,
    assignee TEXT, fields TEXT NOT NULL, fv TEXT NOT NULL, files TEXT NOT NULL,
    seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS records_scope ON records (assignee, seq);
CREATE TABLE IF NOT EXISTS departures (
    user TEXT NOT NULL, record TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS departures_user ON departures (user, seq);
CREATE TABLE IF NOT EXISTS changes (
    device TEXT NOT NULL, change TEXT NOT NULL, record TEXT NOT NULL,
    version INTEGER, conflict TEXT, error TEXT,
    PRIMARY KEY (device, change)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, complete INTEGER NOT NULL,
    sha256 TEXT, bytes INTEGER);
"""

_REC_COLS = "id, type, version, assignee, fields, fv, files, seq"


def _record(row: tuple) -> Record:
    return Record(id=row[0], type=row[1], version=row[2], assignee=row[3],
                  fields=orjson.loads(row[4]), fv=orjson.loads(row[5]),
                  files=orjson.loads(row[6]), seq=row[7])


class SQLiteStore:
    """A :class:`Store` over one SQLite file, or ``:memory:``."""

    def __init__(self, path: str, *, durable: bool = False):
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._db.execute("PRAGMA foreign_keys=OFF")
        self._db.executescript(SCHEMA)
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # Nested use joins the outer transaction: the core may call helpers
        # that open their own.
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    def close(self) -> None:
        self._db.close()

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def max_seq(self) -> int:
        a = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM records").fetchone()[0]
        b = self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM departures").fetchone()[0]
        return max(a, b)

    def scope_seqs(self) -> dict[str, int]:
        """user -> last seq that wrote into or departed from the user's scope."""
        out: dict[str, int] = {}
        for user, seq in self._db.execute(
                "SELECT assignee, MAX(seq) FROM records WHERE assignee IS NOT NULL"
                " GROUP BY assignee UNION ALL SELECT user, MAX(seq) FROM departures"
                " GROUP BY user"):
            out[user] = max(seq, out.get(user, 0))
        return out

    def user_role(self, user: str) -> str | None:
        row = self._db.execute("SELECT role FROM users WHERE id=?", (user,)).fetchone()
        return row[0] if row else None

    def add_user(self, user: str, role: str) -> None:
        self._db.execute("INSERT INTO users (id, role) VALUES (?, ?)", (user, role))

    def add_device(self, device: Device) -> None:
        self._db.execute("INSERT INTO devices (id, user, token_hash) VALUES (?, ?, ?)",
                         (device.id, device.user, device.token_hash))

    def get_device(self, device: str) -> Device | None:
        row = self._db.execute(
            "SELECT d.id, d.user, u.role, d.token_hash FROM devices d JOIN users u"
            " ON u.id = d.user WHERE d.id=?", (device,)).fetchone()
        return Device(id=row[0], user=row[1], role=row[2], token_hash=row[3]) if row else None

    def devices(self) -> Iterator[Device]:
        rows = self._db.execute(
            "SELECT d.id, d.user, u.role, d.token_hash FROM devices d JOIN users u"
            " ON u.id = d.user ORDER BY d.id").fetchall()
        for r in rows:
            yield Device(id=r[0], user=r[1], role=r[2], token_hash=r[3])

    def get_record(self, record: str) -> Record | None:
        row = self._db.execute(f"SELECT {_REC_COLS} FROM records WHERE id=?",
                               (record,)).fetchone()
        return _record(row) if row else None

    def put_record(self, record: Record) -> None:
        # An upsert updates the row in place (INSERT OR REPLACE would delete
        # and re-insert it, touching every index twice).
        self._db.execute(
            f"INSERT INTO records ({_REC_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET type=excluded.type, version=excluded.version,"
            " assignee=excluded.assignee, fields=excluded.fields, fv=excluded.fv,"
            " files=excluded.files, seq=excluded.seq",
            (record.id, record.type, record.version, record.assignee,
             orjson.dumps(record.fields).decode(), orjson.dumps(record.fv).decode(),
             orjson.dumps(record.files).decode(), record.seq))

    def list_records(self, assignee: str | None, limit: int) -> list[Record]:
        if assignee is None:
            rows = self._db.execute(
                f"SELECT {_REC_COLS} FROM records ORDER BY id LIMIT ?", (limit,))
        else:
            rows = self._db.execute(
                f"SELECT {_REC_COLS} FROM records WHERE assignee=? ORDER BY id LIMIT ?",
                (assignee, limit))
        return [_record(r) for r in rows.fetchall()]

    def scope_versions(self, user: str) -> dict[str, int]:
        rows = self._db.execute("SELECT id, version FROM records WHERE assignee=? ORDER BY id",
                                (user,)).fetchall()
        return dict(rows)

    def records_since(self, user: str, after: int, limit: int) -> list[Record]:
        rows = self._db.execute(
            f"SELECT {_REC_COLS} FROM records WHERE assignee=? AND seq>? ORDER BY seq LIMIT ?",
            (user, after, limit)).fetchall()
        return [_record(r) for r in rows]

    def add_departure(self, user: str, record: str, seq: int) -> None:
        self._db.execute("INSERT INTO departures (user, record, seq) VALUES (?, ?, ?)",
                         (user, record, seq))

    def departed_since(self, user: str, after: int, upto: int) -> list[str]:
        rows = self._db.execute(
            "SELECT DISTINCT d.record FROM departures d JOIN records r ON r.id = d.record"
            " WHERE d.user=? AND d.seq>? AND d.seq<=?"
            " AND (r.assignee IS NULL OR r.assignee<>?) ORDER BY d.record",
            (user, after, upto, user)).fetchall()
        return [r[0] for r in rows]

    def get_change(self, device: str, change: str) -> AppliedChange | None:
        row = self._db.execute(
            "SELECT record, version, conflict, error FROM changes WHERE device=? AND change=?",
            (device, change)).fetchone()
        if not row:
            return None
        return AppliedChange(device=device, change=change, record=row[0], version=row[1],
                             conflict=row[2], error=row[3])

    def put_change(self, applied: AppliedChange) -> None:
        self._db.execute(
            "INSERT INTO changes (device, change, record, version, conflict, error)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (applied.device, applied.change, applied.record, applied.version,
             applied.conflict, applied.error))

    def get_file(self, file_id: str) -> FileMeta | None:
        row = self._db.execute("SELECT owner, complete, sha256, bytes FROM files WHERE id=?",
                               (file_id,)).fetchone()
        if not row:
            return None
        return FileMeta(id=file_id, owner=row[0], complete=bool(row[1]), sha256=row[2],
                        bytes=row[3])

    def put_file(self, meta: FileMeta) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO files (id, owner, complete, sha256, bytes)"
            " VALUES (?, ?, ?, ?, ?)",
            (meta.id, meta.owner, int(meta.complete), meta.sha256, meta.bytes))

    def delete_file(self, file_id: str) -> None:
        self._db.execute("DELETE FROM files WHERE id=?", (file_id,))

    def file_in_scope(self, file_id: str, user: str) -> bool:
        # Attachments are few per record; scanning the user's scope is cheap.
        rows = self._db.execute("SELECT files FROM records WHERE assignee=? AND files<>'[]'",
                                (user,)).fetchall()
        return any(f["id"] == file_id for (fs,) in rows for f in orjson.loads(fs))
