"""Sync logic: pure rules over a :class:`~reference_server.store.Store`.

Theory of operation: no HTTP here. The adapter authenticates a request into a
:class:`Principal`, validates its body into dataclasses, and calls one method
of :class:`SyncCore`, which reads and writes the store inside one transaction
and returns the response body plus the pushes to deliver. Trace events are
written through the injected tracer *after* the transaction commits, so the
trace never shows a change the database does not hold.

    request -> auth -> validate -> SyncCore.sync / web_* -> commit
                                                        -> trace (srv_apply, dispatch)
                                                        -> pushes -> hub (srv_push)

Conflict rule (docs/protocol.md): last writer wins per field in apply order;
``fv`` remembers which version last wrote each field, and a change whose
``base_version`` is older than that is applied but reported as a conflict.

Cursors are ``<seq>.<mac>``: the global sequence number the device has seen,
with an HMAC over the device id and that number, so "a cursor from nowhere"
(forged, another device's, another database's) is refused with 400.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reference_server import limits
from reference_server.errors import ApiError, bad, conflict, not_found
from reference_server.mutants import Bugs, acked_unapplied
from reference_server.store import AppliedChange, Device, Record, Store
from reference_server.tracing import Tracer
from reference_server.validate import Change, SyncRequest

# The ack error for a change on a record outside the device's scope: the
# protocol document's chosen answer to "a worker sending a change for another
# worker's record: rejected for that change".
NOT_FOUND = "not found"
# Cursor MAC length in hex digits: 64 bits is ample against forgery here.
CURSOR_MAC_HEX = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who is calling: a device of a user with a role."""

    device: str
    user: str
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Push:
    """A push to deliver to every connected device of ``user``."""

    user: str
    record: str
    reason: str


def forbid(role_ok: bool, what: str) -> None:
    if not role_ok:
        raise ApiError(403, f"{what} is not allowed for this role", None)


class SyncCore:
    def __init__(self, *, store: Store, tracer: Tracer, secret: bytes, mutant: str | None = None):
        self.store = store
        # A deliberately broken server (reference_server.mutants); off by default.
        self.bugs = Bugs(mutant)
        self.tracer = tracer
        self._secret = secret
        self._seq = store.max_seq()
        # Other instances write the same database (PostgreSQL): the sequence is
        # read under the store's write lock, and the in-memory indexes below
        # are not trusted (every sync asks the store).
        self._shared = bool(getattr(store, "shared", False))
        # user -> the last seq that wrote a record in, or moved a record out of,
        # the user's scope. When the server is the database's only writer this
        # in-memory index is exact; it lets a sync with nothing to do for this
        # device answer without a query even while other devices write.
        self._scope_seq: dict[str, int] = store.scope_seqs()
        # user -> last seq that moved a record out of the user's scope, for
        # departures made by this process; older ones are below _left_floor.
        self._left_seq: dict[str, int] = {}
        self._left_floor = self._seq

    # ----- sequence and cursors -----
    def _next_seq(self) -> int:
        if self._shared:
            # Inside the transaction, under the store's write lock: every other
            # instance's committed writes are visible, so the seq stays one
            # global, gap-free-enough, commit-ordered counter.
            self._seq = max(self._seq, self.store.max_seq())
        self._seq += 1
        return self._seq

    def _touch(self, *users: str | None) -> int:
        """Take the next seq for a write that concerns ``users``' scopes."""
        seq = self._next_seq()
        for u in users:
            if u is not None:
                self._scope_seq[u] = seq
        return seq

    def _departures_after(self, user: str, after: int) -> bool:
        if self._shared:
            return True  # another instance may have moved a record away
        return after < self._left_floor or after < self._left_seq.get(user, 0)

    def _mac(self, device: str, seq: int) -> str:
        msg = f"{device}\x00{seq}".encode()
        return hmac.digest(self._secret, msg, "sha256").hex()[:CURSOR_MAC_HEX]

    def cursor_for(self, device: str, seq: int) -> str:
        return f"{seq}.{self._mac(device, seq)}"

    def parse_cursor(self, cursor: str | None, device: str) -> int:
        if cursor is None:
            return 0
        seq_s, _, mac = cursor.partition(".")
        if not (seq_s.isascii() and seq_s.isdigit()) or len(seq_s) > 18:
            raise bad("cursor was not issued by this server", "cursor")
        seq = int(seq_s)
        if seq > self._seq and self._shared:
            self._seq = max(self._seq, self.store.max_seq())  # issued by another instance
        if not hmac.compare_digest(mac, self._mac(device, seq)) or seq > self._seq:
            raise bad("cursor was not issued by this server to this device", "cursor")
        return seq

    # ----- sync -----
    def sync(self, p: Principal, req: SyncRequest) -> dict[str, Any]:
        """Apply ``req.changes`` exactly once and return the response body."""
        if p.role not in limits.DEVICE_ROLES:
            raise ApiError(403, "only worker and sales devices sync", None)
        if req.device != p.device:
            raise ApiError(403, "device does not match the token", "device")
        after = self.parse_cursor(req.cursor, p.device)
        acks: list[dict[str, Any]] = []
        applied: list[AppliedChange] = []
        if req.changes:
            with self.store.transaction():
                seen = [self.store.get_change(p.device, c.change) for c in req.changes]
                for i, (c, prev) in enumerate(zip(req.changes, seen, strict=True)):
                    if c.file is not None and prev is None:
                        self._check_photo(p, c, f"changes[{i}].file")
                bugs = self.bugs
                for i, (c, prev) in enumerate(zip(req.changes, seen, strict=True)):
                    if prev is None and i > 0 and bugs.has("applies_first_of_batch"):
                        prev = acked_unapplied(self.store, p.device, c)  # acked, not applied
                        self.store.put_change(prev)
                    elif prev is None or (bugs.has("applies_retries") and prev.error is None):
                        fresh = prev is None  # the bug applies a retried change again
                        prev = self._apply(p, c)
                        if fresh:
                            self.store.put_change(prev)
                        if prev.error is None:
                            applied.append(prev)
                    acks.append({"change": prev.change, "record": prev.record,
                                 "version": prev.version, "conflict": prev.conflict,
                                 "error": prev.error})
        for a in applied:
            self.tracer.emit("srv_apply", p.device, change=a.change, record=a.record,
                             version=a.version)
        now = self.tracer.clock()
        if req.mode == "upload":
            return {"acks": acks, "cursor": req.cursor, "server_time": now}
        leak = self.bugs.has("leaks_scope")
        if req.cursor is not None and not self._shared and not leak \
                and after >= self._scope_seq.get(p.user, 0):
            # Nothing entered or left this user's scope since the cursor: the
            # common "nothing to do" sync answers without touching the database.
            return {"acks": acks, "records": [], "removed": [], "files": [],
                    "cursor": req.cursor, "more": False, "server_time": now}
        limit = limits.MAX_RECORDS_PER_RESPONSE
        if self._shared:
            # The committed sequence first, then only rows at or below it: a row
            # another instance is committing now has a higher seq and comes next time.
            self._seq = max(self._seq, self.store.max_seq())
        top = self._seq
        recs = [r for r in self.store.records_since(p.user, after, limit + 1) if r.seq <= top]
        if leak:  # the bug: every user's changed records, not only this one's
            recs = sorted({r.id: r for u in self._device_users() for r in self.store.records_since(
                u, after, limit + 1) if r.seq <= top}.values(), key=lambda r: r.seq)[:limit + 1]
        more = len(recs) > limit
        if more:
            recs = recs[:limit]
            upto = recs[-1].seq
        else:
            upto = top
        removed = (self.store.departed_since(p.user, after, upto)
                   if after and self._departures_after(p.user, after) else [])
        files = [{"id": f["id"], "record": r.id, "bytes": f["bytes"], "sha256": f["sha256"]}
                 for r in recs for f in r.files]
        removed = [] if self.bugs.has("keeps_removed") else removed
        files = [] if self.bugs.has("no_files_listed") else files
        return {"acks": acks, "records": [r.public() for r in recs], "removed": removed,
                "files": files, "cursor": self.cursor_for(p.device, upto), "more": more,
                "server_time": now}

    def _check_photo(self, p: Principal, c: Change, where: str) -> None:
        assert c.file is not None
        meta = self.store.get_file(c.file.id)
        if meta is None or not meta.complete or meta.owner != p.user:
            raise conflict("file not uploaded (upload and finish it first)", where + ".id")
        if meta.sha256 != c.file.sha256 or meta.bytes != c.file.bytes:
            raise conflict("file sha256/bytes differ from the uploaded file", where)

    def _apply(self, p: Principal, c: Change) -> AppliedChange:
        rec = self.store.get_record(c.record)
        reason: str | None = None
        if rec is None:
            if c.base_version is not None:
                return self._rejected(p, c)
            # "A change with base_version: null on a record id the server does
            # not know creates the record ..., owned by the sending device's user."
            rec = Record(id=c.record, type=c.type or limits.DEFAULT_CREATED_TYPE, version=0,
                         assignee=p.user, fields={})
        elif rec.assignee != p.user:
            return self._rejected(p, c)
        elif c.base_version is None:
            reason = f"stale: record exists at v{rec.version}, base null"
        else:
            stale = sorted(f for f in c.fields if rec.fv.get(f, 0) > c.base_version)
            if stale:
                reason = (f"stale: {', '.join(stale)} written at "
                          f"v{max(rec.fv[f] for f in stale)}, base {c.base_version}")
            elif c.base_version > rec.version:
                reason = f"base {c.base_version} ahead of server v{rec.version}"
        if reason is not None and rec.version > 0 and self.bugs.has("refuses_stale"):
            return AppliedChange(device=p.device, change=c.change, record=c.record, version=None,
                                 conflict=None, error="conflict")
        version = rec.version + 1
        if c.kind == "text" and self.bugs.has("replaces_fields"):
            rec.fields = {}  # the bug: the change's fields replace the record's
        for k, v in c.fields.items():
            rec.fields[k] = v
            rec.fv[k] = version
        if c.file is not None and all(f["id"] != c.file.id for f in rec.files):
            rec.files.append({"id": c.file.id, "bytes": c.file.bytes, "sha256": c.file.sha256})
        rec.version = version
        rec.seq = self._touch(rec.assignee)
        self.store.put_record(rec)
        return AppliedChange(device=p.device, change=c.change, record=c.record,
                             version=version, conflict=reason, error=None)

    @staticmethod
    def _rejected(p: Principal, c: Change) -> AppliedChange:
        return AppliedChange(device=p.device, change=c.change, record=c.record, version=None,
                             conflict=None, error=NOT_FOUND)

    # ----- web application (dispatcher) -----
    def _assignee(self, user: str | None) -> str | None:
        if user is not None and self.store.user_role(user) not in limits.DEVICE_ROLES:
            raise not_found("no worker or sales user with this id", "assignee")
        return user

    def _load(self, record_id: str) -> Record:
        rec = self.store.get_record(record_id)
        if rec is None:
            raise not_found("no such record", "record_id")
        return rec

    def _write(self, rec: Record, changed: Iterable[str], left: str | None = None, *,
               touch: bool = True) -> None:
        rec.version += 1
        for k in changed:
            rec.fv[k] = rec.version
        if touch:
            rec.seq = self._touch(rec.assignee, left)
        self.store.put_record(rec)

    def web_create(self, p: Principal, *, record_id: str | None, rtype: str,
                   assignee: str | None, fields: dict[str, Any]) -> tuple[dict, list[Push]]:
        forbid(p.role in limits.WEB_ROLES, "the web application")
        with self.store.transaction():
            self._assignee(assignee)
            if record_id is None:
                record_id = f"{rtype}-{self._seq + 1}"
                while self.store.get_record(record_id) is not None:
                    record_id = f"{rtype}-{self._next_seq() + 1}"
            elif self.store.get_record(record_id) is not None:
                raise conflict("record id taken", "id")
            rec = Record(id=record_id, type=rtype, version=0, assignee=assignee,
                         fields=dict(fields))
            self._write(rec, fields)
        self.tracer.emit("dispatch", op="create", record=rec.id, assignee=assignee,
                         version=rec.version, status=_status(fields))
        return rec.public(), self._pushes(assignee, rec.id, "create")

    def web_edit(self, p: Principal, record_id: str, fields: dict[str, Any]):
        forbid(p.role in limits.WEB_ROLES, "the web application")
        with self.store.transaction():
            rec = self._load(record_id)
            rec.fields.update(fields)
            # Mutant skips_web_edits: the version moves, the sequence behind cursors does not.
            self._write(rec, fields, touch=not self.bugs.has("skips_web_edits"))
        return self._dispatched(rec, "edit")

    def web_status(self, p: Principal, record_id: str, status: str):
        forbid(p.role in limits.WEB_ROLES, "the web application")
        with self.store.transaction():
            rec = self._load(record_id)
            rec.fields["status"] = status
            self._write(rec, ["status"])
        pub, pushes = self._dispatched(rec, "status", status=status)
        return pub, ([] if self.bugs.has("no_push_on_status") else pushes)

    def web_assign(self, p: Principal, record_id: str, assignee: str | None):
        forbid(p.role in limits.WEB_ROLES, "the web application")
        with self.store.transaction():
            self._assignee(assignee)
            rec = self._load(record_id)
            before = rec.assignee
            rec.assignee = assignee
            left = before if before != assignee else None
            self._write(rec, [], left)
            if left is not None:
                self.store.add_departure(left, rec.id, rec.seq)
                self._left_seq[left] = rec.seq
        pub, pushes = self._dispatched(rec, "assign" if assignee else "unassign")
        if before is not None and before != assignee and not self.bugs.has("no_unassign_push"):
            pushes.append(Push(user=before, record=rec.id, reason="unassign"))
        return pub, pushes

    def web_attach(self, p: Principal, record_id: str, file_id: str):
        forbid(p.role in limits.WEB_ROLES, "the web application")
        with self.store.transaction():
            rec = self._load(record_id)
            meta = self.store.get_file(file_id)
            if meta is None or not meta.complete:
                raise conflict("file not uploaded (upload and finish it first)", "file")
            if all(f["id"] != file_id for f in rec.files):
                rec.files.append({"id": file_id, "bytes": meta.bytes, "sha256": meta.sha256})
            self._write(rec, [])
        return self._dispatched(rec, "attach", file=file_id, bytes=meta.bytes)

    def _dispatched(self, rec: Record, op: str, **extra: Any) -> tuple[dict, list[Push]]:
        self.tracer.emit("dispatch", op=op, record=rec.id, assignee=rec.assignee,
                         version=rec.version, **extra)
        return rec.public(), self._pushes(rec.assignee, rec.id, op)

    def _pushes(self, user: str | None, record: str, reason: str) -> list[Push]:
        if self.bugs.has("pushes_everyone"):  # the bug: every device user is told
            return [Push(user=u, record=record, reason=reason) for u in self._device_users()]
        return [Push(user=user, record=record, reason=reason)] if user else []

    def _device_users(self) -> list[str]:
        return sorted({d.user for d in self.store.devices() if d.role in limits.DEVICE_ROLES})

    def web_read(self, p: Principal, record_id: str) -> dict:
        forbid(p.role in limits.WEB_ROLES, "the web application")
        return self._load(record_id).public()

    def web_list(self, p: Principal, assignee: str | None) -> dict:
        forbid(p.role in limits.WEB_ROLES, "the web application")
        recs = self.store.list_records(assignee, limits.MAX_LIST_RECORDS)
        return {"records": [r.public() for r in recs]}

    def snapshot(self, p: Principal, devices: list[str] | None) -> dict:
        """The server's view of each device's scope; written as ``srv_snapshot``."""
        forbid(p.role in limits.WEB_ROLES, "the web application")
        if devices is None:
            targets = [d for d in self.store.devices() if d.role in limits.DEVICE_ROLES]
        else:
            targets = []
            for i, dev in enumerate(devices):
                d = self.store.get_device(dev)
                if d is None or d.role not in limits.DEVICE_ROLES:
                    raise not_found("no worker or sales device with this id", f"devices[{i}]")
                targets.append(d)
        out: dict[str, dict[str, int]] = {}
        for d in targets:
            out[d.id] = self.store.scope_versions(d.user)
            self.tracer.emit("srv_snapshot", d.id, records=out[d.id])
        return {"snapshots": out}

    # ----- admin -----
    def add_device(self, p: Principal, *, user: str, role: str, device: str,
                   token_hash: bytes) -> Device:
        if p.role != "admin":
            raise ApiError(403, "only the admin token provisions devices", None)
        with self.store.transaction():
            have = self.store.user_role(user)
            if have is None:
                self.store.add_user(user, role)
            elif have != role:
                raise conflict(f"user exists with role {have!r}", "role")
            if self.store.get_device(device) is not None:
                raise conflict("device id taken", "device")
            d = Device(id=device, user=user, role=role, token_hash=token_hash)
            self.store.add_device(d)
        return d


def _status(fields: dict[str, Any]) -> str | None:
    s = fields.get("status")
    return s if isinstance(s, str) else None
