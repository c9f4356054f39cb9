"""The device's local SQLite store: records, outbox, file queue, what the user sees.

Theory of operation: the engine keeps its durable state in memory and hands it
out as JSON-ready dicts (``Engine.to_dict``, docs/engine.md "Persistence").
After every input the driver calls :meth:`DeviceStore.save` *before* it writes
a trace line or starts any I/O, so a change is on disk before the user is told
it is saved (the ``edit`` trace line) and ``kill -9`` at any moment loses
nothing: a restarted device rebuilds the engine with :meth:`load` and
``Engine.from_dict``, and the outbox re-sends under the same change ids,
which the server "acknowledged again ... and is not applied again".

The state is spread over plain tables so it can be inspected with ``sqlite3``::

    meta        key -> JSON value   engine counters, cursor, trace epoch, UI values
    records     id, version, body   the local copy of each record (fields the user sees)
    outbox      change, seq, ...    unsent changes, in the order the user made them
    file_queue  dir, file, seq, ... photo uploads and attachment downloads, with bytes moved
    have_files  file, seq           attachments already here
    photos      change, path, ...   the photo files the user took (real files on disk)
    refused     change, ...         changes the server refused ("not found")

Each save is one transaction that writes only the rows that differ from the
last save (a sync that changes one record rewrites one row, not the table).
The database runs in WAL mode with ``synchronous=FULL``: SQLite's documented
setting under which "a transaction committed ... is durable" across a power
loss, not just a process kill.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

DB_NAME = "device.sqlite3"
# SQLite docs, "PRAGMA synchronous": FULL in WAL mode makes each commit durable
# across an OS crash or power loss; NORMAL only across an application crash.
SYNCHRONOUS = "FULL"
# How long a connection waits on a lock held by another (a second driver on
# the same store is a mistake; this turns it into an error, not a hang).
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, version INTEGER, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (change TEXT PRIMARY KEY, seq INTEGER NOT NULL,
    record TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS file_queue (dir TEXT NOT NULL, file TEXT NOT NULL,
    seq INTEGER NOT NULL, record TEXT NOT NULL, bytes INTEGER NOT NULL, done INTEGER NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (dir, file));
CREATE TABLE IF NOT EXISTS have_files (file TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS photos (change TEXT PRIMARY KEY, path TEXT NOT NULL,
    sha256 TEXT NOT NULL, bytes INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refused (change TEXT PRIMARY KEY, record TEXT NOT NULL,
    error TEXT NOT NULL, t REAL NOT NULL);
"""

# Primary key columns of the diffed tables.
_KEYS = {"records": ("id",), "outbox": ("change",), "file_queue": ("dir", "file"),
         "have_files": ("file",)}
# Engine.to_dict() keys kept in `meta` (everything but the store's tables).
_ENGINE_KEYS = ("format", "device", "policy", "now", "n_change", "n_sync", "last_ok")


def _j(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class DeviceStore:
    """``DeviceStore(directory)``: open (creating) the store of one device."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.path = self.dir / DB_NAME
        self._db: sqlite3.Connection | None = None
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._db = db = sqlite3.connect(self.path, isolation_level=None,
                                            timeout=BUSY_TIMEOUT_MS / 1000)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
            db.executescript(_SCHEMA)
            self._cache_meta: dict[str, str] = dict(db.execute("SELECT key, value FROM meta"))
        except (OSError, sqlite3.Error) as exc:
            self.close()
            raise ValueError(f"store {self.path}: cannot open as a device store ({exc})") from None
        self._cache: dict[str, dict[Any, tuple]] = {}

    # ---- reading -------------------------------------------------------------

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError(f"store {self.path}: used after close")
        return self._db

    def get_meta(self, key: str, default: Any = None) -> Any:
        raw = self._cache_meta.get(key)
        return default if raw is None else json.loads(raw)

    def load(self) -> dict[str, Any] | None:
        """The engine state last saved (``Engine.from_dict`` input), or None if new."""
        db = self.db
        if self.get_meta("format") is None:
            return None
        d: dict[str, Any] = {k: self.get_meta(k) for k in _ENGINE_KEYS}
        rows = db.execute("SELECT dir, body FROM file_queue ORDER BY seq").fetchall()
        d["store"] = {
            "records": {rid: json.loads(body) for rid, body in
                        db.execute("SELECT id, body FROM records ORDER BY id")},
            "outbox": [json.loads(b) for (b,) in
                       db.execute("SELECT body FROM outbox ORDER BY seq")],
            "uploads": [json.loads(b) for dr, b in rows if dr == "up"],
            "downloads": [json.loads(b) for dr, b in rows if dr == "down"],
            "have_files": [f for (f,) in db.execute("SELECT file FROM have_files ORDER BY seq")],
            "cursor": self.get_meta("cursor"),
        }
        return d

    def photo(self, change: str) -> tuple[Path, str, int] | None:
        """``(path, sha256, bytes)`` of the photo taken for ``change``."""
        row = self.db.execute("SELECT path, sha256, bytes FROM photos WHERE change = ?",
                              (change,)).fetchone()
        return None if row is None else (self.dir / row[0], row[1], row[2])

    def refused(self) -> dict[str, str]:
        """``{change: error}`` for every change the server refused."""
        return dict(self.db.execute("SELECT change, error FROM refused"))

    # ---- writing -------------------------------------------------------------

    def save(self, state: dict[str, Any], *, meta: dict[str, Any] | None = None,
             photo: tuple[str, str, str, int] | None = None,
             refused: list[tuple[str, str, str, float]] = ()) -> None:
        """Write engine ``state`` (``Engine.to_dict()``), extra ``meta`` values, a new
        ``photo`` row ``(change, relative path, sha256, bytes)`` and ``refused``
        rows in one durable transaction."""
        st = state["store"]
        tables = {
            "records": {rid: (r.get("version"), _j(r)) for rid, r in st["records"].items()},
            "outbox": {c["change"]: (i, c["record"], c["kind"], _j(c))
                       for i, c in enumerate(st["outbox"])},
            "file_queue": {(t["dir"], t["file"]): (i, t["record"], t["bytes"], t["done"], _j(t))
                           for i, t in enumerate([*st["uploads"], *st["downloads"]])},
            "have_files": {f: (i,) for i, f in enumerate(st["have_files"])},
        }
        values = {k: state[k] for k in _ENGINE_KEYS}
        values["cursor"] = st["cursor"]
        values.update(meta or {})
        db = self.db
        ops: list[tuple[str, tuple]] = []
        for key, value in values.items():
            if key != "now" and self._cache_meta.get(key) != _j(value):
                ops.append(("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, _j(value))))
        for table, rows in tables.items():
            ops.extend(self._table_ops(db, table, rows))
        if photo is not None:
            ops.append(("INSERT OR REPLACE INTO photos VALUES (?, ?, ?, ?)", photo))
        ops.extend(("INSERT OR REPLACE INTO refused VALUES (?, ?, ?, ?)", r) for r in refused)
        if not ops:
            return  # nothing but the clock moved: no commit (and no fsync) needed
        # The engine's `now` is written with real changes only; a restore starts
        # from the wall clock anyway (Engine.from_dict(start=...)).
        ops.append(("INSERT OR REPLACE INTO meta VALUES (?, ?)", ("now", _j(values["now"]))))
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, args in ops:
                db.execute(sql, args)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            self._cache.clear()  # re-read what is really there on the next save
            self._cache_meta = dict(db.execute("SELECT key, value FROM meta"))
            raise
        for key, value in values.items():
            self._cache_meta[key] = _j(value)
        self._cache.update(tables)

    def _table_ops(self, db: sqlite3.Connection, table: str,
                   rows: dict[Any, tuple]) -> list[tuple[str, tuple]]:
        old = self._cache.get(table)
        if old is None:
            old = self._cache[table] = self._read_table(db, table)
        keys = _KEYS[table]
        where = " AND ".join(f"{k} = ?" for k in keys)
        ops = [(f"DELETE FROM {table} WHERE {where}", key if isinstance(key, tuple) else (key,))
               for key in old.keys() - rows.keys()]
        for key, row in rows.items():
            if old.get(key) != row:
                kt = key if isinstance(key, tuple) else (key,)
                marks = ", ".join("?" * (len(kt) + len(row)))
                ops.append((f"INSERT OR REPLACE INTO {table} VALUES ({marks})", (*kt, *row)))
        return ops

    def _read_table(self, db: sqlite3.Connection, table: str) -> dict[Any, tuple]:
        if table == "file_queue":
            return {(r[0], r[1]): tuple(r[2:]) for r in db.execute(f"SELECT * FROM {table}")}
        return {r[0]: tuple(r[1:]) for r in db.execute(f"SELECT * FROM {table}")}

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
