"""The server model: the reference server's sync semantics, in memory.

Theory of operation: the same rules as docs/protocol.md, without HTTP or a
database, so a fleet of thousands runs in one process:

- **Versions**: every applied change or dispatcher operation bumps the
  record's version by one ("version increases by one with every change the
  server applies"); a sequence number orders all of them and is the cursor.
- **Scope by assignee**: a device's scope is the records assigned to it; a
  sync returns the records of its scope changed since its cursor, and
  ``removed`` lists the ones that left it.
- **Exactly once by change id**: "A change id seen before is acknowledged
  again with the version it produced then ... and is not applied again."
- **Creating**: "a change with base_version: null on a record id the server
  does not know creates the record ... assigned to the sending device's user."
- **Pushes on dispatcher changes**: every dispatch whose record has an
  assignee yields a push to that assignee (spec/rules.md planado.push_sent).

It emits ``dispatch``, ``srv_apply``, ``srv_push`` and ``srv_snapshot`` through
the ``emit`` callable it is given, at the ``now`` it is given (the service
queue in front of it lives in :mod:`bench.sim.queue`). A server mutant
(:mod:`bench.scenario.mutants`) turns one of these behaviours off.

A change on a record outside the sender's scope is refused by the reference
server with an ack whose ``version`` is null; the engine's ``Ack`` takes an
int version only, so this model acknowledges it with the record's current
version, without applying it (the random dispatcher never moves a record
away from a device, so only an explicit ``assign`` step can cause it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.scenario.mutants import TRUE_SERVER, ServerMutant
from reference_client.engine.actions import maker
from reference_client.engine.inputs import Ack, FileRef, ServerRecord

# The answer's parts, built without their validating constructors (actions.maker,
# fields positional in the class's order): the model makes them from its own
# records, so they are valid by construction, and the device's engine takes them
# through its trusted entry (Engine.answer). tests/sim: each against its class.
_ack = maker(Ack)  # change, record, version, conflict
_server_record = maker(ServerRecord)  # id, version, type, assignee, fields, files
_file_ref = maker(FileRef)  # id, record, bytes, sha256

# Approximate wire sizes (bytes) of a sync request and response, for the
# transfer-time math: JSON envelope, per change, per ack, per record, per id.
REQUEST_BASE_B = 250
CHANGE_B = 180
RESPONSE_BASE_B = 200
ACK_B = 90
RECORD_B = 400
ID_B = 40


class _Rec:
    __slots__ = ("version", "assignee", "fields", "files", "seq", "type")

    def __init__(self, type_: str, assignee: str | None) -> None:
        self.version = 0
        self.assignee = assignee
        self.fields: dict[str, Any] = {}
        self.files: list[dict[str, Any]] = []
        self.seq = 0
        self.type = type_


class ServerModel:
    """In-memory sync server. ``emit(event_dict)`` receives its trace events."""

    def __init__(self, *, emit: Callable[[dict[str, Any]], None],
                 mutant: ServerMutant = TRUE_SERVER, devices: tuple[str, ...] = ()) -> None:
        self.emit = emit
        self.mutant = mutant
        self.devices = devices  # known devices, for the wrong-device push mutant
        self.records: dict[str, _Rec] = {}
        # device -> its records (id -> the record itself: a sync that scans its
        # scope reads each record's seq without a lookup in ``records``).
        self.scope: dict[str, dict[str, _Rec]] = {}
        self.left: dict[str, list[tuple[int, str]]] = {}
        self.applied: dict[str, tuple[str, int]] = {}
        self.refused: dict[str, str] = {}  # change id -> record, for changes out of scope
        self.files: set[str] = set()
        self.seq = 0
        self.touched: dict[str, int] = {}  # device -> last seq that changed its scope
        self.n_apply = 0
        self.n_dispatch = 0

    # ---- web dispatcher -----------------------------------------------------

    def _move(self, rid: str, rec: _Rec, new: str | None) -> None:
        old = rec.assignee
        if old == new:
            return
        if old is not None:
            self.scope.get(old, {}).pop(rid, None)
            self.left.setdefault(old, []).append((self.seq + 1, rid))
            self.touched[old] = self.seq + 1
        if new is not None:
            self.scope.setdefault(new, {})[rid] = rec
        rec.assignee = new

    def dispatch(self, now: float, op: str, record: str, assignee: str | None = None, *,
                 status: str | None = None, file: str | None = None,
                 nbytes: int | None = None, fields: dict[str, Any] | None = None) -> list[str]:
        """A dispatcher operation; returns the devices to push to."""
        rec = self.records.get(record)
        if rec is None:
            rec = self.records[record] = _Rec("job", None)
        if op in ("create", "assign"):
            self._move(record, rec, assignee)
        elif op == "unassign":
            self._move(record, rec, None)
        if status is not None:
            rec.fields["status"] = status
        if fields:
            rec.fields.update(fields)
        if op == "attach" and file is not None:
            rec.files.append({"id": file, "bytes": nbytes or 0, "sha256": None})
        rec.version += 1
        self.seq += 1
        rec.seq = self.seq
        if rec.assignee is not None:
            self.touched[rec.assignee] = self.seq
        self.n_dispatch += 1
        ev: dict[str, Any] = {"ev": "dispatch", "t": now, "op": op, "record": record,
                              "assignee": rec.assignee, "version": rec.version}
        if status is not None:
            ev["status"] = status
        if file is not None:
            ev["file"] = file
            ev["bytes"] = nbytes or 0
        self.emit(ev)
        if rec.assignee is None:
            return []
        return self.mutant.push_targets(op, rec.assignee, self.devices)

    # ---- devices ------------------------------------------------------------

    def file_uploaded(self, file: str) -> None:
        self.files.add(file)

    def sync(self, now: float, dev: str, request: dict[str, Any]) -> tuple[Any, ...]:
        """Answer a sync request: ``(acks, records, removed, files, cursor, nbytes)``."""
        changes = request["changes"]
        acks = tuple([self._apply(now, dev, c) for c in changes]) if changes else ()
        nbytes = RESPONSE_BASE_B + ACK_B * len(acks)
        if request["mode"] == "upload":
            return acks, (), (), (), request["cursor"], nbytes
        cursor = request["cursor"]
        since = int(cursor) if cursor else 0
        if self.touched.get(dev, 0) <= since and not self.mutant.leak_scope:
            # Nothing in this device's scope changed since its cursor (the common
            # 2-minute sync): no records, nothing removed.
            return acks, (), (), (), str(self.seq), nbytes
        recs, files = [], []
        records = self.records
        mine = self.scope.get(dev, {})
        changed = [(r.seq, rid) for rid, r in mine.items() if r.seq > since]
        if self.mutant.leak_scope:
            changed += self._leaked(dev, since)
        changed.sort()
        for _, rid in changed:
            r = records[rid]
            recs.append(_server_record(rid, r.version, r.type, r.assignee, dict(r.fields),
                                       tuple(r.files)))
            for f in r.files:
                files.append(_file_ref(f["id"], rid, f["bytes"], None))
        # A first sync (no cursor) holds nothing, so nothing can leave it (the
        # core answers removed: [] there too; tests/sim: the differential test).
        removed = tuple(rid for seq, rid in self.left.get(dev, ()) if seq > since
                        and records[rid].assignee != dev) if since else ()
        nbytes += RECORD_B * len(recs) + ID_B * (len(removed) + len(files))
        return acks, tuple(recs), removed, tuple(files), str(self.seq), nbytes

    def _leaked(self, dev: str, since: int) -> list[tuple[int, str]]:
        """Mutant srv_leaks_scope: one changed record of another worker."""
        for rid, r in self.records.items():
            if r.assignee is not None and r.assignee != dev and r.seq > since:
                return [(r.seq, rid)]
        return []

    def _apply(self, now: float, dev: str, c: dict[str, Any]) -> Ack:
        cid, rid = c["change"], c["record"]
        done = self.applied.get(cid)
        if done is not None and not self.mutant.apply_twice:
            # "A change id seen before is acknowledged again ... not applied again."
            return _ack(cid, done[0], done[1], None)
        refused = self.refused.get(cid)
        if refused is not None:
            # A refusal is an answer too: the retry gets it again, even if the
            # record has since come into the device's scope (as the core does).
            return _ack(cid, refused, self.records[refused].version, "not in scope")
        rec = self.records.get(rid)
        if rec is None:
            # "base_version: null on a record id the server does not know creates the record"
            rec = self.records[rid] = _Rec("report", None)
            self._move(rid, rec, dev)
        elif rec.assignee != dev:
            self.refused[cid] = rid
            return _ack(cid, rid, rec.version, "not in scope")
        stale = c["base_version"] is not None and c["base_version"] < rec.version
        version = rec.version + 1
        if not self.mutant.lose_update:
            rec.fields.update(c["fields"])
            f = c["file"]
            if f is not None:
                rec.files.append({"id": f["id"], "bytes": f["bytes"], "sha256": f.get("sha256")})
            rec.version = version
            self.seq += 1
            rec.seq = self.seq
            self.touched[dev] = self.seq
        self.applied[cid] = (rid, version)
        self.n_apply += 1
        self.emit({"ev": "srv_apply", "t": now, "dev": dev, "change": cid, "record": rid,
                   "version": version})
        return _ack(cid, rid, version, "stale base" if stale else None)

    def snapshot(self, now: float, dev: str) -> None:
        """Emit ``srv_snapshot``: the server's view of ``dev``'s scope."""
        records = self.records
        view = {rid: records[rid].version for rid in sorted(self.scope.get(dev, {}))}
        self.emit({"ev": "srv_snapshot", "t": now, "dev": dev, "records": view})


def request_bytes(request: dict[str, Any]) -> int:
    return REQUEST_BASE_B + CHANGE_B * len(request["changes"])
