"""Hand-written validators for request bodies.

Theory of operation: each ``parse_*`` function takes the decoded JSON value
and returns a frozen dataclass or raises :class:`ApiError` 400 naming the
problem and where (``changes[3].kind``). Unknown keys are refused ("unknown or
missing fields ... a 4xx with a JSON error naming the problem"), so a typo in a
client never silently drops data. Plain functions over dicts keep the hot path
free of schema-library overhead.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from reference_server import limits
from reference_server.errors import bad

_ID_RE = re.compile(rf"[A-Za-z0-9._:@-]{{1,{limits.MAX_ID_LEN}}}\Z")
SHA_RE = re.compile(r"[0-9a-f]{64}\Z")
SYNC_MODES = frozenset({"full", "upload", "download"})
CHANGE_KINDS = frozenset({"text", "status", "photo"})


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRef:
    id: str
    sha256: str
    bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    change: str
    record: str
    kind: str
    base_version: int | None
    fields: dict[str, Any]
    file: FileRef | None
    type: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncRequest:
    device: str
    cursor: str | None
    mode: str
    changes: tuple[Change, ...]


def obj(v: Any, where: str | None, allowed: frozenset[str], required: frozenset[str]) -> dict:
    if type(v) is not dict:
        raise bad("expected a JSON object", where)
    for k in v:
        if k not in allowed:
            raise bad(f"unknown field {k!r}", _join(where, k))
    for k in required:
        if k not in v:
            raise bad(f"missing field {k!r}", _join(where, k))
    return v


def _join(where: str | None, key: str) -> str:
    return key if not where else f"{where}.{key}"


def ident(v: Any, where: str) -> str:
    if type(v) is not str or not _ID_RE.match(v):
        raise bad(f"expected an id (1-{limits.MAX_ID_LEN} characters of A-Za-z0-9._:@-)", where)
    return v


def opt_ident(v: Any, where: str) -> str | None:
    return None if v is None else ident(v, where)


def integer(v: Any, where: str, lo: int = 0) -> int:
    # bool is an int subclass; JSON true is not a number.
    if type(v) is not int or v < lo:
        raise bad(f"expected an integer >= {lo}", where)
    return v


def string(v: Any, where: str, max_len: int = limits.MAX_FIELD_VALUE_LEN) -> str:
    if type(v) is not str or not v or len(v) > max_len:
        raise bad(f"expected a non-empty string of at most {max_len} characters", where)
    return v


def fields(v: Any, where: str) -> dict[str, Any]:
    if type(v) is not dict:
        raise bad("expected a JSON object", where)
    if len(v) > limits.MAX_FIELDS:
        raise bad(f"at most {limits.MAX_FIELDS} fields", where)
    for k, x in v.items():
        if not k or len(k) > limits.MAX_FIELD_NAME_LEN:
            raise bad(f"field names are 1-{limits.MAX_FIELD_NAME_LEN} characters", where)
        t = type(x)
        if x is None or t is bool or t is int or t is float:
            continue
        if t is str and len(x) <= limits.MAX_FIELD_VALUE_LEN:
            continue
        raise bad("field values are strings, numbers, booleans or null", _join(where, k))
    return v


def file_ref(v: Any, where: str) -> FileRef:
    keys = frozenset({"id", "sha256", "bytes"})
    obj(v, where, keys, keys)
    sha = v["sha256"]
    if type(sha) is not str or not SHA_RE.match(sha):
        raise bad("expected 64 lowercase hex digits", where + ".sha256")
    return FileRef(
        id=ident(v["id"], where + ".id"),
        sha256=sha,
        bytes=integer(v["bytes"], where + ".bytes"),
    )


_CHANGE_KEYS = frozenset({"change", "record", "kind", "base_version", "fields", "file", "type",
                          "saved_at"})
_CHANGE_REQ = frozenset({"change", "record", "kind", "base_version"})


def change(v: Any, where: str) -> Change:
    obj(v, where, _CHANGE_KEYS, _CHANGE_REQ)
    kind = v["kind"]
    if kind not in CHANGE_KINDS or type(kind) is not str:
        raise bad("kind must be text, status or photo", where + ".kind")
    base = v["base_version"]
    if base is not None:
        integer(base, where + ".base_version", lo=1)
    saved = v.get("saved_at")
    # docs/protocol.md: "saved_at ... the server stores nothing of it" (it is for
    # whoever watches the traffic), but a wrong type is still refused.
    if saved is not None and (type(saved) not in (int, float) or not math.isfinite(saved)):
        raise bad("saved_at must be a number of seconds or null", where + ".saved_at")
    rtype = v.get("type")
    if rtype is not None and (type(rtype) is not str or rtype not in limits.RECORD_TYPES):
        raise bad(f"type must be one of {sorted(limits.RECORD_TYPES)}", where + ".type")
    raw_fields = v.get("fields")
    raw_file = v.get("file")
    ref = None
    if kind == "photo":
        if raw_file is None:
            raise bad("a photo change needs a file", where + ".file")
        ref = file_ref(raw_file, where + ".file")
        flds = {} if raw_fields is None else fields(raw_fields, where + ".fields")
    else:
        if raw_file is not None:
            raise bad(f"a {kind} change carries no file", where + ".file")
        if raw_fields is None:
            raise bad(f"a {kind} change needs fields", where + ".fields")
        flds = fields(raw_fields, where + ".fields")
        if kind == "status":
            if set(flds) != {"status"} or type(flds["status"]) is not str or not flds["status"]:
                raise bad('a status change has fields {"status": "<string>"}', where + ".fields")
        elif not flds:
            raise bad("a text change sets at least one field", where + ".fields")
    return Change(
        change=ident(v["change"], where + ".change"),
        record=ident(v["record"], where + ".record"),
        kind=kind,
        base_version=base,
        fields=flds,
        file=ref,
        type=rtype,
    )


_SYNC_KEYS = frozenset({"device", "cursor", "mode", "changes"})
_SYNC_REQ = frozenset({"device", "cursor", "mode"})


def sync_request(v: Any) -> SyncRequest:
    obj(v, None, _SYNC_KEYS, _SYNC_REQ)
    mode = v["mode"]
    if type(mode) is not str or mode not in SYNC_MODES:
        raise bad("mode must be full, upload or download", "mode")
    cursor = v["cursor"]
    if cursor is not None and (type(cursor) is not str or len(cursor) > 256):
        raise bad("cursor must be a string from a previous response, or null", "cursor")
    raw = v.get("changes", [])
    if type(raw) is not list:
        raise bad("expected a JSON array", "changes")
    if len(raw) > limits.MAX_CHANGES_PER_SYNC:
        raise bad(f"at most {limits.MAX_CHANGES_PER_SYNC} changes per sync", "changes")
    if mode == "download" and raw:
        raise bad("download mode carries no changes", "changes")
    changes = tuple(change(c, f"changes[{i}]") for i, c in enumerate(raw))
    seen: set[str] = set()
    for i, c in enumerate(changes):
        if c.change in seen:
            raise bad("change id repeated within one request", f"changes[{i}].change")
        seen.add(c.change)
    return SyncRequest(device=ident(v["device"], "device"), cursor=cursor, mode=mode,
                       changes=changes)
