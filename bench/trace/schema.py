"""The event vocabulary of ``syncbench.trace/1`` (see docs/checking.md).

Theory of operation: each known event kind maps to a tuple of field specs
``(name, check, required)``. ``check`` is a small predicate; the reader calls
them in order and reports the first field that is missing or mistyped. An
optional field given as ``null`` counts as absent ("An optional field given as
null counts as absent"), so optional checks only run on non-null values.
Unknown kinds pass through untouched ("checkers ignore kinds they do not know").
"""

from __future__ import annotations

import math
from collections.abc import Callable

SCHEMA = "syncbench.trace/1"

# Closed vocabularies, quoted from trace.md.
LINK_CLASSES = frozenset({"offline", "2g", "gprs", "edge", "3g", "hspa", "lte", "5g", "wifi"})
# "Slow = 2g, gprs or edge. Fast = online and not slow."
SLOW_CLASSES = frozenset({"2g", "gprs", "edge"})
FAST_CLASSES = LINK_CLASSES - SLOW_CLASSES - {"offline"}
APP_STATES = frozenset({"opened", "minimized", "restored", "closed"})
EDIT_KINDS = frozenset({"text", "photo", "status"})
FILE_DIRS = frozenset({"up", "down"})
DISPATCH_OPS = frozenset({"create", "assign", "unassign", "status", "edit", "attach"})
# Open vocabulary: the triggers trace.md lists; others are allowed.
SYNC_TRIGGERS = ("timer", "open", "status", "manual", "push", "save", "link", "retry", "login")


def _is_str(v: object) -> bool:
    return type(v) is str


def _is_num(v: object) -> bool:
    # bool is an int subclass in Python; JSON true is not a number.
    t = type(v)
    return t is int or t is float


def _is_bool(v: object) -> bool:
    return type(v) is bool


def _is_count(v: object) -> bool:
    return type(v) is int and v >= 0


def _is_num_or_null(v: object) -> bool:
    return v is None or _is_num(v)


def _is_str_or_null(v: object) -> bool:
    return v is None or type(v) is str


def _is_records(v: object) -> bool:
    return type(v) is dict and all(_is_num(x) for x in v.values())


def _is_fields(v: object) -> bool:
    # A record's flat fields (docs/protocol.md "Records"): scalar JSON values.
    return type(v) is dict and all(
        x is None or type(x) in (str, int, float, bool) for x in v.values())


def _is_files(v: object) -> bool:
    # ``{file id: sha256}`` of a record's attachments.
    return type(v) is dict and all(type(x) is str for x in v.values())


def _is_params(v: object) -> bool:
    # "params: rule parameter overrides (see rules.md)": every parameter there
    # is a duration in seconds, so a finite number, not negative.
    return type(v) is dict and all(_is_num(x) and math.isfinite(x) and x >= 0 for x in v.values())


def _in(vocab: frozenset[str]) -> Callable[[object], bool]:
    def check(v: object) -> bool:
        return type(v) is str and v in vocab

    check.vocab = vocab  # type: ignore[attr-defined]
    return check


Check = Callable[[object], bool]
FieldSpec = tuple[str, Check, bool]

_TYPE_NAMES: dict[Check, str] = {
    _is_str: "a string",
    _is_num: "a number",
    _is_bool: "a boolean",
    _is_num_or_null: "a number or null",
    _is_str_or_null: "a string or null",
    _is_count: "a whole number >= 0",
    _is_records: "an object of record ids to numbers",
    _is_fields: "an object of field names to strings, numbers, booleans or null",
    _is_files: "an object of ids to strings",
    _is_params: "an object of parameter names to numbers >= 0",
}


def describe(check: Check) -> str:
    """What a check expects, for error messages."""
    vocab = getattr(check, "vocab", None)
    if vocab is not None:
        return "one of " + ", ".join(sorted(vocab))
    return _TYPE_NAMES.get(check, "valid")


def _spec(required: dict[str, Check], optional: dict[str, Check] | None = None) -> tuple[FieldSpec, ...]:
    fields = [(k, c, True) for k, c in required.items()]
    fields += [(k, c, False) for k, c in (optional or {}).items()]
    return tuple(fields)


S, N, B = _is_str, _is_num, _is_bool

# Every known kind except ``meta`` needs ``t``; device events need ``dev``.
EVENTS: dict[str, tuple[FieldSpec, ...]] = {
    "link": _spec({"t": N, "dev": S, "class": _in(LINK_CLASSES)}),
    "app": _spec({"t": N, "dev": S, "state": _in(APP_STATES)}),
    "manual": _spec({"t": N, "dev": S}, {"via": S}),
    "edit": _spec(
        {"t": N, "dev": S, "change": S, "record": S, "kind": _in(EDIT_KINDS)},
        # Extensions the bench's value oracle reads: what a text edit wrote, a photo's hash.
        {"bytes": N, "status": S, "fields": _is_fields, "sha256": S},
    ),
    "sync_start": _spec({"t": N, "dev": S, "sync": S, "trigger": S}),
    "sync_end": _spec({"t": N, "dev": S, "sync": S, "ok": B}, {"error": S}),
    "file_start": _spec(
        {"t": N, "dev": S, "file": S, "dir": _in(FILE_DIRS), "bytes": N}, {"sync": S}
    ),
    # ``connects``: new connections the transfer opened (an extension; bench.real.drift).
    "file_end": _spec({"t": N, "dev": S, "file": S, "dir": _in(FILE_DIRS), "ok": B},
                      {"bytes": N, "connects": _is_count}),
    # ``version``: the record version the server's ack named (an extension).
    "ack": _spec({"t": N, "dev": S, "change": S}, {"version": N}),
    "recv": _spec({"t": N, "dev": S, "record": S, "version": N}, {"sync": S}),
    "push": _spec({"t": N, "dev": S, "record": S}, {"reason": S}),
    # An extension: the device's push channel (its socket to the server) came up or went down.
    "push_channel": _spec({"t": N, "dev": S, "up": B}),
    "unsent": _spec({"t": N, "dev": S, "n": N}),
    # ``at`` is required but may be null: "a number or null".
    "last_sync": _spec({"t": N, "dev": S, "at": _is_num_or_null}),
    # ``digests``: {record: 16 hex digits of its field values} (an extension; docs/checking.md).
    "snapshot": _spec({"t": N, "dev": S, "records": _is_records}, {"digests": _is_files}),
    # ``assignee`` is "required on every op, may be null".
    "dispatch": _spec(
        {"t": N, "op": _in(DISPATCH_OPS), "record": S, "assignee": _is_str_or_null},
        {"status": S, "version": N, "file": S, "bytes": N, "fields": _is_fields},
    ),
    "srv_push": _spec({"t": N, "dev": S, "record": S}, {"reason": S}),
    "srv_apply": _spec({"t": N, "dev": S, "change": S, "record": S, "version": N}),
    "srv_snapshot": _spec({"t": N, "dev": S, "records": _is_records}),
    # An extension: a record as the server's API returned it at the end of a run
    # (the bench's own observation, written when the server writes no trace).
    "srv_record": _spec(
        {"t": N, "record": S, "version": N, "assignee": _is_str_or_null},
        {"fields": _is_fields, "files": _is_files},
    ),
}

META_FIELDS: tuple[FieldSpec, ...] = _spec(
    {"schema": S},
    {"policy": S, "settled": B, "seed": N, "time_scale": N, "params": _is_params,
     # Extensions: the wall-clock epoch of t = 0 (a real run), and whether the
     # server wrote the trace's server events (false: the bench's record only).
     "epoch": N, "server_trace": B},
)

# Fields whose null value would otherwise be rejected because they are required
# and null is their legitimate value.
NULLABLE_REQUIRED = frozenset({("last_sync", "at"), ("dispatch", "assignee"),
                               ("srv_record", "assignee")})
# Known kinds that concern no one device (no ``dev``).
NO_DEVICE_KINDS = frozenset({"dispatch", "srv_record"})

DEVICE_KINDS = frozenset(k for k, spec in EVENTS.items() if any(f[0] == "dev" for f in spec))
KNOWN_KINDS = frozenset(EVENTS) | {"meta"}


def is_slow(link_class: str) -> bool:
    return link_class in SLOW_CLASSES


def is_fast(link_class: str) -> bool:
    return link_class in FAST_CLASSES
