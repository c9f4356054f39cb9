"""Typed inputs a driver feeds to :meth:`Engine.handle`.

Theory of operation: an input is something that happened to the device at
spec time ``now`` — the OS reported a link class, the user did something, the
server answered, a transfer moved bytes, or a deadline passed (:class:`Tick`).
Every input is a frozen, slotted, keyword-only dataclass that validates in
``__post_init__``: a value outside a closed vocabulary or of the wrong type
raises ``ValueError`` naming the input and the field, at the driver's call
site. Inputs carry no behaviour; the engine decides what each one means.

Server answers have a helper, :meth:`SyncResponse.from_json`, that turns the
``POST /v1/sync`` response body into typed parts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reference_client.engine import vocab


def _fail(obj: object, name: str, msg: str) -> None:
    raise ValueError(f"{type(obj).__name__}.{name}: {msg}")


def _num(obj: object, name: str, value: object, *, minimum: float | None = None) -> None:
    if type(value) not in (int, float) or not math.isfinite(value):  # type: ignore[arg-type]
        _fail(obj, name, f"must be a finite number, got {value!r}")
    if minimum is not None and value < minimum:  # type: ignore[operator]
        _fail(obj, name, f"must be >= {minimum}, got {value!r}")


def _str(obj: object, name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if type(value) is not str or not value:
        _fail(obj, name, f"must be a non-empty string, got {value!r}")


def _vocab(obj: object, name: str, value: object, allowed: frozenset[str]) -> None:
    if value not in allowed:
        _fail(obj, name, f"must be one of {', '.join(sorted(allowed))}, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Input:
    """Base of all inputs: ``now`` is the spec time (seconds) it happened."""

    now: float

    def __post_init__(self) -> None:
        _num(self, "now", self.now)


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick(Input):
    """A deadline the engine asked for (``next_deadline``) has passed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkChanged(Input):
    """The OS reports the network type (trace.md ``link`` vocabulary)."""

    link_class: str

    def __post_init__(self) -> None:
        Input.__post_init__(self)
        _vocab(self, "link_class", self.link_class, vocab.LINK_CLASSES)


@dataclass(frozen=True, slots=True, kw_only=True)
class AppChanged(Input):
    """The app was ``opened``, ``minimized``, ``restored`` or ``closed``."""

    state: str

    def __post_init__(self) -> None:
        Input.__post_init__(self)
        _vocab(self, "state", self.state, vocab.APP_STATES)


@dataclass(frozen=True, slots=True, kw_only=True)
class UserEdit(Input):
    """The user saved a change to a record.

    ``text`` needs ``fields`` (a non-empty mapping), ``status`` needs ``status``,
    ``photo`` needs ``bytes`` (> 0) and may give ``sha256``. A record id the
    engine has never stored creates the record (``base_version: null``).
    """

    record: str
    kind: str
    fields: Mapping[str, Any] | None = None
    status: str | None = None
    bytes: int | None = None
    sha256: str | None = None

    def __post_init__(self) -> None:
        Input.__post_init__(self)
        _str(self, "record", self.record)
        _vocab(self, "kind", self.kind, vocab.EDIT_KINDS)
        if self.kind == vocab.TEXT and (not isinstance(self.fields, Mapping) or not self.fields):
            _fail(self, "fields", f"a text edit needs a non-empty mapping, got {self.fields!r}")
        if self.kind == vocab.STATUS:
            _str(self, "status", self.status)
        if self.kind == vocab.PHOTO:
            if type(self.bytes) is not int or self.bytes <= 0:
                _fail(self, "bytes", f"a photo edit needs a positive int, got {self.bytes!r}")
        _str(self, "sha256", self.sha256, optional=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class ManualSync(Input):
    """The user asked for a sync (menu item, sync icon, pull-to-refresh)."""

    via: str | None = None

    def __post_init__(self) -> None:
        Input.__post_init__(self)
        _str(self, "via", self.via, optional=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class PushReceived(Input):
    """A push notification reached the device."""

    record: str
    reason: str | None = None

    def __post_init__(self) -> None:
        Input.__post_init__(self)
        _str(self, "record", self.record)
        _str(self, "reason", self.reason, optional=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class SnapshotRequest(Input):
    """Ask the engine to emit a ``snapshot`` trace event of its local view."""


# ---- server answers -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Ack:
    """One entry of ``acks``: the server confirmed ``change``."""

    change: str
    record: str
    version: int
    conflict: str | None = None

    def __post_init__(self) -> None:
        _str(self, "change", self.change)
        _str(self, "record", self.record)
        if type(self.version) is not int:
            _fail(self, "version", f"must be an int, got {self.version!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerRecord:
    """One entry of ``records``: a server version of a record in scope."""

    id: str
    version: int
    type: str | None = None
    assignee: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        _str(self, "id", self.id)
        if type(self.version) is not int:
            _fail(self, "version", f"must be an int, got {self.version!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRef:
    """One entry of ``files``: an attachment the device should download."""

    id: str
    record: str
    bytes: int
    sha256: str | None = None

    def __post_init__(self) -> None:
        _str(self, "id", self.id)
        _str(self, "record", self.record)
        if type(self.bytes) is not int or self.bytes < 0:
            _fail(self, "bytes", f"must be a non-negative int, got {self.bytes!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncResponse(Input):
    """The server answered sync ``sync`` with HTTP 200."""

    sync: str
    acks: tuple[Ack, ...] = ()
    records: tuple[ServerRecord, ...] = ()
    removed: tuple[str, ...] = ()
    files: tuple[FileRef, ...] = ()
    cursor: str | None = None
    server_time: float | None = None

    def __post_init__(self) -> None:
        Input.__post_init__(self)
        _str(self, "sync", self.sync)
        # Each item validated itself when it was built (frozen, validating
        # dataclasses): only its type is checked here, and an answer with
        # nothing in it (most answers of a day) costs four comparisons.
        if (self.acks == () and self.records == () and self.files == ()
                and self.removed == ()):
            _str(self, "cursor", self.cursor, optional=True)
            return
        for name, kind in (("acks", Ack), ("records", ServerRecord), ("files", FileRef)):
            items = getattr(self, name)
            if not isinstance(items, tuple):
                _fail(self, name, f"must be a tuple of {kind.__name__}")
            if items and not all(type(i) is kind or isinstance(i, kind) for i in items):
                _fail(self, name, f"must be a tuple of {kind.__name__}")
        removed = self.removed
        if not isinstance(removed, tuple) or (removed and not all(type(r) is str for r in removed)):
            _fail(self, "removed", "must be a tuple of record ids")
        _str(self, "cursor", self.cursor, optional=True)

    @classmethod
    def from_json(cls, *, now: float, sync: str, body: Mapping[str, Any]) -> SyncResponse:
        """Build from a ``POST /v1/sync`` response body (a decoded JSON object)."""
        try:
            return cls(
                now=now,
                sync=sync,
                acks=tuple(
                    Ack(change=a["change"], record=a["record"], version=a["version"],
                        conflict=a.get("conflict"))
                    for a in body.get("acks") or ()
                ),
                records=tuple(
                    ServerRecord(id=r["id"], version=r["version"], type=r.get("type"),
                                 assignee=r.get("assignee"), fields=r.get("fields") or {},
                                 files=tuple(r.get("files") or ()))
                    for r in body.get("records") or ()
                ),
                removed=tuple(body.get("removed") or ()),
                files=tuple(
                    FileRef(id=f["id"], record=f["record"], bytes=f["bytes"],
                            sha256=f.get("sha256"))
                    for f in body.get("files") or ()
                ),
                cursor=body.get("cursor"),
                server_time=body.get("server_time"),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"SyncResponse.from_json: malformed body ({exc!r})") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncFailed(Input):
    """Sync ``sync`` ended without a usable answer (network error, 5xx, timeout)."""

    sync: str
    error: str = "error"

    def __post_init__(self) -> None:
        Input.__post_init__(self)
        _str(self, "sync", self.sync)
        _str(self, "error", self.error)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileProgress(Input):
    """Transfer of ``file`` has moved ``bytes`` bytes in total so far."""

    file: str
    dir: str
    bytes: int

    def __post_init__(self) -> None:
        Input.__post_init__(self)
        _str(self, "file", self.file)
        _vocab(self, "dir", self.dir, vocab.FILE_DIRS)
        if type(self.bytes) is not int or self.bytes < 0:
            _fail(self, "bytes", f"must be a non-negative int, got {self.bytes!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileDone(Input):
    """Transfer of ``file`` ended: ``ok`` true once the whole file is there
    (an upload: the server's sha256 check passed)."""

    file: str
    dir: str
    ok: bool
    bytes: int | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        Input.__post_init__(self)
        _str(self, "file", self.file)
        _vocab(self, "dir", self.dir, vocab.FILE_DIRS)
        if type(self.ok) is not bool:
            _fail(self, "ok", f"must be a bool, got {self.ok!r}")
        if self.bytes is not None and (type(self.bytes) is not int or self.bytes < 0):
            _fail(self, "bytes", f"must be a non-negative int or None, got {self.bytes!r}")


ALL_INPUTS = (
    Tick, LinkChanged, AppChanged, UserEdit, ManualSync, PushReceived, SnapshotRequest,
    SyncResponse, SyncFailed, FileProgress, FileDone,
)
