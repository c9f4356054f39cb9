"""The storage interface the sync core runs on.

Theory of operation: :class:`Store` is a Protocol of small, boring operations
(get/put a record, list a scope since a sequence number, remember a change id)
so the core holds all the sync rules and a PostgreSQL store can follow by
implementing the same methods. Every write happens inside ``transaction()``:
the core opens one per request, and a store must make the whole transaction
durable before ``transaction()`` returns ("A change the server has
acknowledged survives kill -9").

Sequence numbers: every write to a record, and every departure of a record
from a user's scope, takes the next value of one global counter ``seq``. A
cursor is a ``seq``; "changed since cursor" is ``seq > cursor``.

A store whose ``shared`` attribute is true (PostgreSQL) may be written by
other server instances at the same time; the core then asks the store instead
of trusting what it has seen itself. Stores without the attribute are taken
as the database's only writer (SQLite).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(slots=True, kw_only=True)
class Record:
    """A record as stored. ``fv`` maps a field name to the version that last wrote it."""

    id: str
    type: str
    version: int
    assignee: str | None
    fields: dict[str, Any]
    fv: dict[str, int] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "version": self.version,
                "assignee": self.assignee, "fields": self.fields, "files": self.files}


@dataclass(frozen=True, slots=True, kw_only=True)
class Device:
    id: str
    user: str
    role: str
    token_hash: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class AppliedChange:
    """What a change id produced, remembered for exactly-once replays."""

    device: str
    change: str
    record: str
    version: int | None
    conflict: str | None
    error: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class FileMeta:
    id: str
    owner: str
    complete: bool
    sha256: str | None
    bytes: int | None


class Store(Protocol):
    # --- lifecycle and transactions ---
    def transaction(self) -> AbstractContextManager[None]: ...
    def close(self) -> None: ...
    def get_meta(self, key: str) -> str | None: ...
    def set_meta(self, key: str, value: str) -> None: ...
    def max_seq(self) -> int: ...
    def scope_seqs(self) -> dict[str, int]: ...

    # --- users and devices ---
    def user_role(self, user: str) -> str | None: ...
    def add_user(self, user: str, role: str) -> None: ...
    def add_device(self, device: Device) -> None: ...
    def get_device(self, device: str) -> Device | None: ...
    def devices(self) -> Iterator[Device]: ...

    # --- records ---
    def get_record(self, record: str) -> Record | None: ...
    def put_record(self, record: Record) -> None: ...
    def list_records(self, assignee: str | None, limit: int) -> list[Record]: ...
    def scope_versions(self, user: str) -> dict[str, int]: ...
    def records_since(self, user: str, after: int, limit: int) -> list[Record]: ...
    def add_departure(self, user: str, record: str, seq: int) -> None: ...
    def departed_since(self, user: str, after: int, upto: int) -> list[str]: ...

    # --- changes (exactly once) ---
    def get_change(self, device: str, change: str) -> AppliedChange | None: ...
    def put_change(self, applied: AppliedChange) -> None: ...

    # --- files ---
    def get_file(self, file_id: str) -> FileMeta | None: ...
    def put_file(self, meta: FileMeta) -> None: ...
    def delete_file(self, file_id: str) -> None: ...
    def file_in_scope(self, file_id: str, user: str) -> bool: ...
