"""The bench's record of every write to a record, the oracle of the black-box forms.

Theory of operation: docs/protocol.md says "``version`` increases by one with
every change the server applies to the record (sync change or web operation)"
and "last writer wins, per field, in the order the server applies changes".
A trace that holds the writers' side -- each ``dispatch`` (with the version the
web API answered and the fields it set) and each device ``edit`` with its
``ack`` (whose ``version`` the server named) -- and the bench's reading of each
record at the end (``srv_record``) is enough to judge the server without its
own trace:

- a field a write set must still hold that write's value unless a write with a
  higher version set the same field (``core.no_loss``);
- a record's version must equal the number of distinct writes applied to it:
  more means some write was applied twice (``core.exactly_once``), fewer that
  an acknowledged write is gone (``core.no_loss``).

A write whose version is unknown (an ack without ``version``, a dispatch
without it) makes the record's order, and so its count, unjudgeable; its
fields are then not judged either.

Memory: one small entry per write, kept for the whole trace (it is judged
against the reading at the end), so a write holds references, not copies:
its fields are the event's own (the ledger never changes them), a status
write shares one mapping per status value, and "who" wrote it is spelled out
only when a message needs it. A fleet-day writes some 45 times a device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bench.rules.base import fmt_t

_NO_FIELDS: Mapping[str, Any] = MappingProxyType({})
_STATUS_FIELDS: dict[Any, Mapping[str, Any]] = {}  # status value -> {"status": value}


def _status(value: Any) -> Mapping[str, Any]:
    m = _STATUS_FIELDS.get(value)
    if m is None:
        m = _STATUS_FIELDS[value] = MappingProxyType({"status": value})
    return m


@dataclass(slots=True)
class Write:
    t: float
    by: str | None  # the device whose change it is; None: the dispatcher
    what: str  # the change id, or the dispatcher's operation
    record: str
    fields: Mapping[str, Any] = field(default_factory=lambda: _NO_FIELDS)  # never changed
    file: str | None = None
    sha256: str | None = None
    version: int | float | None = None
    done: bool = False  # applied as far as the bench can tell (acked, or answered)

    @property
    def who(self) -> str:
        """``change w1-c3 of w1`` / ``the dispatcher's edit of job-1``."""
        if self.by is not None:
            return f"change {self.what} of {self.by}"
        return f"the dispatcher's {self.what} of {self.record}"


class Ledger:
    """Writes per record, fed by the rule that owns it."""

    def __init__(self) -> None:
        self.writes: dict[str, list[Write]] = {}
        self._edits: dict[str, dict[str, Write]] = {}  # dev -> change -> its write
        self.records: dict[str, dict[str, Any]] = {}  # last srv_record per record
        self.acked_twice: list[tuple[float, str, str, Any, Any]] = []

    def dispatch(self, ev: dict[str, Any]) -> None:
        op = ev["op"]
        fields = ev.get("fields") or _NO_FIELDS
        if op in ("create", "status") and ev.get("status") is not None and "status" not in fields:
            fields = {**fields, "status": ev["status"]} if fields else _status(ev["status"])
        w = Write(t=ev["t"], by=None, what=op, record=ev["record"], fields=fields,
                  file=ev.get("file") if op == "attach" else None,
                  version=ev.get("version"), done=True)
        self.writes.setdefault(ev["record"], []).append(w)

    def edit(self, ev: dict[str, Any], dev: str) -> None:
        kind = ev["kind"]
        if kind == "text":
            fields = ev.get("fields") or _NO_FIELDS
        elif kind == "status" and ev.get("status") is not None:
            fields = _status(ev["status"])
        else:
            fields = _NO_FIELDS
        w = Write(t=ev["t"], by=dev, what=ev["change"], record=ev["record"], fields=fields,
                  file=ev["change"] if kind == "photo" else None, sha256=ev.get("sha256"))
        mine = self._edits.get(dev)
        if mine is None:
            mine = self._edits[dev] = {}
        mine[ev["change"]] = w
        self.writes.setdefault(ev["record"], []).append(w)

    def ack(self, ev: dict[str, Any], dev: str) -> None:
        mine = self._edits.get(dev)
        w = mine.get(ev["change"]) if mine is not None else None
        if w is None:
            return
        v = ev.get("version")
        if w.done and v is not None and w.version is not None and v != w.version:
            self.acked_twice.append((ev["t"], dev, ev["change"], w.version, v))
        w.done = True
        if v is not None:
            w.version = v
        w.t = ev["t"]  # the time the server's answer arrived: "acked at"

    def srv_record(self, ev: dict[str, Any]) -> None:
        self.records[ev["record"]] = ev

    # -- judging -------------------------------------------------------------
    def applied(self, record: str, upto: float) -> list[Write] | None:
        """The record's applied writes up to ``upto``; None when one lacks a version."""
        ws = [w for w in self.writes.get(record, ()) if w.done and w.t <= upto]
        if any(w.version is None for w in ws):
            return None
        return ws

    def lost(self, rec: dict[str, Any]) -> list[tuple[Write, str]]:
        """Applied writes whose effect the server's record no longer shows (with why)."""
        ws = self.applied(rec["record"], rec["t"])
        if not ws:
            return []
        held = rec.get("fields")
        files = rec.get("files")
        last: dict[str, Write] = {}
        for w in ws:
            for f in w.fields:
                if f not in last or w.version > last[f].version:  # type: ignore[operator]
                    last[f] = w
        out: list[tuple[Write, str]] = []
        for w in ws:
            why = []
            if held is not None:
                for f, v in w.fields.items():
                    if last[f] is w and held.get(f, _MISSING) != v:
                        now = held.get(f, _MISSING)
                        shown = "absent" if now is _MISSING else repr(now)[:40]
                        why.append(f"field `{f}` is not on the server (it holds {shown} at "
                                   f"v{rec['version']:g})")
            if files is not None and w.file is not None:
                if w.file not in files:
                    why.append(f"file {w.file} is not attached on the server")
                elif w.sha256 is not None and files[w.file] != w.sha256:
                    why.append(f"file {w.file} has another sha256 on the server")
            if why:
                out.append((w, "; ".join(why)))
        return out

    def describe(self, w: Write) -> str:
        """``acked change c3 of w1 at t=84.2 (v5)`` / ``answered the dispatcher's ...``."""
        v = f"v{w.version:g}" if w.version is not None else "no version"
        verb = "acked" if w.by is not None else "answered"
        return f"{verb} {w.who} at t={fmt_t(w.t)} ({v})"


_MISSING = object()
