"""The device's durable state: local records, the outbox, file queues.

Theory of operation: everything the user must not lose lives here, in plain
mutable dataclasses that turn into JSON-ready dicts and back
(:meth:`Store.to_dict`, :meth:`Store.from_dict`), so a real client can persist
it and restart. Nothing here knows about syncs in flight, timers or policy:
that volatile state belongs to the engine and is dropped on restore.

- ``records``: record id -> :class:`LocalRecord`; ``version`` None means the
  device created it and the server has not confirmed it yet.
- ``outbox``: change id -> :class:`Change`, in the order the user made them
  (the protocol acks "one per change sent, in order").
- ``uploads`` / ``downloads``: file id -> :class:`Transfer`, in queue order;
  ``done`` is the bytes already moved, the offset a transfer resumes from.
- ``have_files``: attachments already downloaded (never fetched twice).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from reference_client.engine.vocab import PHOTO

# json.dumps with these options builds an encoder per call; one, built once, is the
# same text for a third less (a fleet's snapshots digest every record it holds).
_DIGEST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def fields_digest(fields: dict[str, Any]) -> str:
    """A record's field values in 16 hex digits: the first 64 bits of the SHA-256 of
    their JSON with sorted keys, ``(",", ":")`` separators and UTF-8 as is.

    The trace's ``snapshot`` carries it per record (``digests``) so a checker can
    compare what the device holds with what the server's API returns, by value
    (docs/checking.md, "Value digests"; the checker computes the same)."""
    blob = _DIGEST_JSON(fields)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(slots=True, kw_only=True)
class LocalRecord:
    version: int | None
    fields: dict[str, Any] = field(default_factory=dict)
    assignee: str | None = None
    type: str | None = None


@dataclass(slots=True, kw_only=True)
class Change:
    change: str
    record: str
    kind: str
    base_version: int | None
    fields: dict[str, Any]
    file: dict[str, Any] | None
    t: float
    uploaded: bool = True  # photos: False until the file upload completes

    def wire(self) -> dict[str, Any]:
        """The change as the sync request carries it."""
        return {"change": self.change, "record": self.record, "kind": self.kind,
                "base_version": self.base_version, "fields": dict(self.fields),
                "file": dict(self.file) if self.file is not None else None,
                # When the user saved it, on the engine's clock: a driver that
                # talks HTTP rebases it to Unix seconds (docs/protocol.md).
                "saved_at": self.t}

    @property
    def is_photo(self) -> bool:
        return self.kind == PHOTO


@dataclass(slots=True, kw_only=True)
class Transfer:
    file: str
    dir: str
    record: str
    bytes: int
    sha256: str | None = None
    done: int = 0


@dataclass(slots=True, kw_only=True)
class Store:
    records: dict[str, LocalRecord] = field(default_factory=dict)
    outbox: dict[str, Change] = field(default_factory=dict)
    uploads: dict[str, Transfer] = field(default_factory=dict)
    downloads: dict[str, Transfer] = field(default_factory=dict)
    have_files: list[str] = field(default_factory=list)
    cursor: str | None = None

    def digests(self) -> dict[str, str]:
        """``{record: fields_digest(fields)}`` for the records of :meth:`versions`."""
        return {rid: fields_digest(r.fields) for rid, r in sorted(self.records.items())
                if r.version is not None}

    def versions(self) -> dict[str, int]:
        """The local view as trace.md ``snapshot`` wants it: ``{record: version}``
        for every record the server has confirmed."""
        return {rid: r.version for rid, r in sorted(self.records.items())
                if r.version is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": {k: asdict(v) for k, v in self.records.items()},
            "outbox": [asdict(c) for c in self.outbox.values()],
            "uploads": [asdict(t) for t in self.uploads.values()],
            "downloads": [asdict(t) for t in self.downloads.values()],
            "have_files": list(self.have_files),
            "cursor": self.cursor,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Store:
        return cls(
            records={k: LocalRecord(**v) for k, v in d["records"].items()},
            outbox={c["change"]: Change(**c) for c in d["outbox"]},
            uploads={t["file"]: Transfer(**t) for t in d["uploads"]},
            downloads={t["file"]: Transfer(**t) for t in d["downloads"]},
            have_files=list(d["have_files"]),
            cursor=d["cursor"],
        )
