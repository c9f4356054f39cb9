"""PostgreSQL implementation of :class:`reference_server.store.Store`.

Theory of operation: a psycopg 3 connection pool. ``transaction()`` takes one
connection for the whole block, begins a transaction and takes a
transaction-scoped advisory lock, so writers (of this process and of every
other instance on the same database) run one at a time and commit in the
order of the sequence numbers they take: a reader's snapshot therefore always
holds a prefix of the sequence, and "changed since cursor" never skips a row
that commits late. Reads outside a transaction borrow a connection for one
autocommit statement. Like the SQLite store, it is called from the event-loop
thread only.

Durability: PostgreSQL's default ``synchronous_commit=on`` flushes the WAL
before ``COMMIT`` returns, so an acknowledged change survives kill -9 of the
server and of PostgreSQL, and power loss (``durable`` changes nothing here).

Exactly once: ``changes`` has the primary key (device, change); a replay is
found by ``get_change`` inside the writer's lock, so two instances cannot both
apply one change id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import orjson
import psycopg
from psycopg_pool import ConnectionPool

from reference_server.store import AppliedChange, Device, FileMeta, Record

# Connections per instance: the event loop uses one at a time, plus the push
# listener's own; a second pooled one covers a read while a write is open.
POOL_MIN = 1
POOL_MAX = 4
# Seconds to wait for the first connection before start-up fails.
CONNECT_TIMEOUT_S = 10
# pg_advisory_xact_lock key serialising writers ("syncbench" in ASCII, truncated).
WRITE_LOCK_KEY = 0x73796E6362

# "user" is reserved in SQL: the user columns are called uid.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, uid TEXT NOT NULL, token_hash BYTEA NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, version BIGINT NOT NULL,
    assignee TEXT, fields TEXT NOT NULL, fv TEXT NOT NULL, files TEXT NOT NULL,
    seq BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS records_scope ON records (assignee, seq);
CREATE TABLE IF NOT EXISTS departures (
    uid TEXT NOT NULL, record TEXT NOT NULL, seq BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS departures_user ON departures (uid, seq);
CREATE TABLE IF NOT EXISTS changes (
    device TEXT NOT NULL, change TEXT NOT NULL, record TEXT NOT NULL,
    version BIGINT, conflict TEXT, error TEXT, PRIMARY KEY (device, change));
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, complete BOOLEAN NOT NULL,
    sha256 TEXT, bytes BIGINT);
"""

_REC_COLS = "id, type, version, assignee, fields, fv, files, seq"
_DEV_SELECT = ("SELECT d.id, d.uid, u.role, d.token_hash FROM devices d"
               " JOIN users u ON u.id = d.uid")


def is_postgres_url(db: str) -> bool:
    return db.startswith(("postgresql://", "postgres://"))


def _record(row: tuple) -> Record:
    return Record(id=row[0], type=row[1], version=row[2], assignee=row[3],
                  fields=orjson.loads(row[4]), fv=orjson.loads(row[5]),
                  files=orjson.loads(row[6]), seq=row[7])


def _device(r: tuple) -> Device:
    return Device(id=r[0], user=r[1], role=r[2], token_hash=bytes(r[3]))


class PostgresStore:
    """A :class:`Store` over one PostgreSQL database, given as a ``postgresql://`` URL."""

    # Other instances may write the same database: the core must not trust
    # in-memory indexes of what changed (see SyncCore).
    shared = True

    def __init__(self, url: str, *, durable: bool = False):
        self.url = url
        # One plain connection first: the pool would retry a bad URL until its
        # timeout, this fails at once with the server's own reason.
        try:
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
        except psycopg.Error as exc:
            raise psycopg.OperationalError(
                f"cannot connect to {_redact(url)}: {' '.join(str(exc).split())}") from None
        self._pool = ConnectionPool(url, min_size=POOL_MIN, max_size=POOL_MAX, open=False,
                                    kwargs={"autocommit": True})
        self._pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
        self._tx: psycopg.Connection | None = None
        self._depth = 0
        with self._pool.connection() as conn, conn.transaction():
            # Two instances starting at once would race on CREATE TABLE.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            conn.execute(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        # Nested use joins the outer transaction, as in the SQLite store.
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
            self._tx, self._depth = conn, 1
            try:
                yield
            finally:
                self._tx, self._depth = None, 0
        # Leaving conn.transaction() committed (or rolled back on an exception).

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self._tx is not None:
            return self._tx.execute(sql, params).fetchall()
        with self._pool.connection() as conn:
            return conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: tuple = ()) -> tuple | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _write(self, sql: str, params: tuple) -> None:
        if self._tx is not None:
            self._tx.execute(sql, params)
        else:  # a lone write is its own transaction, like SQLite's autocommit
            with self.transaction():
                assert self._tx is not None
                self._tx.execute(sql, params)

    def close(self) -> None:
        self._pool.close()

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=%s", (key,))
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._write("INSERT INTO meta (key, value) VALUES (%s, %s)"
                    " ON CONFLICT (key) DO UPDATE SET value=excluded.value", (key, value))

    def max_seq(self) -> int:
        row = self._one("SELECT GREATEST((SELECT COALESCE(MAX(seq), 0) FROM records),"
                        " (SELECT COALESCE(MAX(seq), 0) FROM departures))")
        return int(row[0]) if row else 0

    def scope_seqs(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for user, seq in self._rows(
                "SELECT assignee, MAX(seq) FROM records WHERE assignee IS NOT NULL"
                " GROUP BY assignee UNION ALL SELECT uid, MAX(seq) FROM departures"
                " GROUP BY uid"):
            out[user] = max(int(seq), out.get(user, 0))
        return out

    def user_role(self, user: str) -> str | None:
        row = self._one("SELECT role FROM users WHERE id=%s", (user,))
        return row[0] if row else None

    def add_user(self, user: str, role: str) -> None:
        self._write("INSERT INTO users (id, role) VALUES (%s, %s)", (user, role))

    def add_device(self, device: Device) -> None:
        self._write("INSERT INTO devices (id, uid, token_hash) VALUES (%s, %s, %s)",
                    (device.id, device.user, device.token_hash))

    def get_device(self, device: str) -> Device | None:
        row = self._one(_DEV_SELECT + " WHERE d.id=%s", (device,))
        return _device(row) if row else None

    def device_by_token_hash(self, token_hash: bytes) -> Device | None:
        """The device whose token hashes to ``token_hash`` (one provisioned by another instance)."""
        row = self._one(_DEV_SELECT + " WHERE d.token_hash=%s", (token_hash,))
        return _device(row) if row else None

    def devices(self) -> Iterator[Device]:
        yield from (_device(r) for r in self._rows(_DEV_SELECT + " ORDER BY d.id"))

    def user_devices(self, user: str) -> list[str]:
        """The device ids of ``user`` (pushes go to every one)."""
        return [r[0] for r in self._rows("SELECT id FROM devices WHERE uid=%s ORDER BY id",
                                         (user,))]

    def get_record(self, record: str) -> Record | None:
        row = self._one(f"SELECT {_REC_COLS} FROM records WHERE id=%s", (record,))
        return _record(row) if row else None

    def put_record(self, record: Record) -> None:
        self._write(
            f"INSERT INTO records ({_REC_COLS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET type=excluded.type, version=excluded.version,"
            " assignee=excluded.assignee, fields=excluded.fields, fv=excluded.fv,"
            " files=excluded.files, seq=excluded.seq",
            (record.id, record.type, record.version, record.assignee,
             orjson.dumps(record.fields).decode(), orjson.dumps(record.fv).decode(),
             orjson.dumps(record.files).decode(), record.seq))

    def list_records(self, assignee: str | None, limit: int) -> list[Record]:
        if assignee is None:
            rows = self._rows(f"SELECT {_REC_COLS} FROM records ORDER BY id LIMIT %s",
                              (limit,))
        else:
            rows = self._rows(f"SELECT {_REC_COLS} FROM records WHERE assignee=%s"
                              " ORDER BY id LIMIT %s", (assignee, limit))
        return [_record(r) for r in rows]

    def scope_versions(self, user: str) -> dict[str, int]:
        return {r[0]: int(r[1]) for r in self._rows(
            "SELECT id, version FROM records WHERE assignee=%s ORDER BY id", (user,))}

    def records_since(self, user: str, after: int, limit: int) -> list[Record]:
        rows = self._rows(f"SELECT {_REC_COLS} FROM records WHERE assignee=%s AND seq>%s"
                          " ORDER BY seq LIMIT %s", (user, after, limit))
        return [_record(r) for r in rows]

    def add_departure(self, user: str, record: str, seq: int) -> None:
        self._write("INSERT INTO departures (uid, record, seq) VALUES (%s, %s, %s)",
                    (user, record, seq))

    def departed_since(self, user: str, after: int, upto: int) -> list[str]:
        rows = self._rows(
            "SELECT DISTINCT d.record FROM departures d JOIN records r ON r.id = d.record"
            " WHERE d.uid=%s AND d.seq>%s AND d.seq<=%s"
            " AND (r.assignee IS NULL OR r.assignee<>%s) ORDER BY d.record",
            (user, after, upto, user))
        return [r[0] for r in rows]

    def get_change(self, device: str, change: str) -> AppliedChange | None:
        row = self._one("SELECT record, version, conflict, error FROM changes"
                        " WHERE device=%s AND change=%s", (device, change))
        if not row:
            return None
        return AppliedChange(device=device, change=change, record=row[0], version=row[1],
                             conflict=row[2], error=row[3])

    def put_change(self, applied: AppliedChange) -> None:
        self._write("INSERT INTO changes (device, change, record, version, conflict, error)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    (applied.device, applied.change, applied.record, applied.version,
                     applied.conflict, applied.error))

    def get_file(self, file_id: str) -> FileMeta | None:
        row = self._one("SELECT owner, complete, sha256, bytes FROM files WHERE id=%s",
                        (file_id,))
        if not row:
            return None
        return FileMeta(id=file_id, owner=row[0], complete=bool(row[1]), sha256=row[2],
                        bytes=row[3])

    def put_file(self, meta: FileMeta) -> None:
        self._write("INSERT INTO files (id, owner, complete, sha256, bytes)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
                    " owner=excluded.owner, complete=excluded.complete,"
                    " sha256=excluded.sha256, bytes=excluded.bytes",
                    (meta.id, meta.owner, meta.complete, meta.sha256, meta.bytes))

    def delete_file(self, file_id: str) -> None:
        self._write("DELETE FROM files WHERE id=%s", (file_id,))

    def file_in_scope(self, file_id: str, user: str) -> bool:
        rows = self._rows("SELECT files FROM records WHERE assignee=%s AND files<>'[]'",
                          (user,))
        return any(f["id"] == file_id for (fs,) in rows for f in orjson.loads(fs))


def _redact(url: str) -> str:
    """The URL without its password, for error messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict, make_conninfo
        d = conninfo_to_dict(url)
        if "password" in d:
            d["password"] = "***"
        return make_conninfo(**d)
    except Exception:
        return "the PostgreSQL server"
