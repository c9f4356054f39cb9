"""One server semantics: the simulator's server model against the reference server's core.

"the simulator's server model uses the real core behind its service queue (or,
if that is too slow for fleets, a differential test runs both on the same
request stream and must agree)". The simulator keeps its in-memory model for
speed (a fleet of thousands); this test drives it and
``reference_server.core.SyncCore`` (over an in-memory SQLite store) with the
same seeded stream of dispatcher operations and device syncs -- creates,
moves between devices, edits, status changes, device changes on their own
records, new records, retries of a change id, stale bases, changes outside
the device's scope -- and requires the same answers as a device sees them:
every ack's record and version (or its refusal), every record's version,
assignee and fields, every removal, and the final scope of each device.

Deliberate differences, stated here so a change to either is a decision:
- a change outside the device's scope: the core refuses it (``version:
  null``, ``error``); the model acks the current version with a conflict and
  applies nothing (the engine's ``Ack`` takes an int version) -- both leave
  the record as it was;
- ``conflict`` flags: the core flags per field, the model per record; they are
  not compared (no rule or engine decision reads them).
"""

from __future__ import annotations

import random

import pytest

from bench.sim.server import ServerModel
from reference_server.auth import ADMIN
from reference_server.core import Principal, SyncCore
from reference_server.sqlite_store import SQLiteStore
from reference_server.tracing import TraceClock, Tracer
from reference_server.validate import sync_request

DEVICES = ("d1", "d2", "d3")
STEPS = 400


class Reference:
    def __init__(self) -> None:
        self.store = SQLiteStore(":memory:")
        self.core = SyncCore(store=self.store, tracer=Tracer(None, TraceClock(epoch=0.0, scale=1.0)),
                             secret=b"k" * 32)
        self.web = Principal(device="web", user="web", role="dispatcher")
        for d in DEVICES:
            self.core.add_device(ADMIN, user=d, role="worker", device=d, token_hash=d.encode() * 8)
        self.cursors: dict[str, str | None] = dict.fromkeys(DEVICES)

    def dispatch(self, op, record, assignee=None, fields=None):
        if op == "create":
            self.core.web_create(self.web, record_id=record, rtype="job", assignee=assignee,
                                 fields=fields or {})
        elif op in ("assign", "unassign"):
            self.core.web_assign(self.web, record, assignee)
        elif op == "status":
            self.core.web_status(self.web, record, fields["status"])
        else:
            self.core.web_edit(self.web, record, fields)

    def sync(self, dev, changes):
        req = sync_request({"device": dev, "cursor": self.cursors[dev], "mode": "full",
                            "changes": changes})
        body = self.core.sync(Principal(device=dev, user=dev, role="worker"), req)
        self.cursors[dev] = body["cursor"]
        acks = [(a["change"], a["record"], a["version"]) for a in body["acks"]]
        recs = {r["id"]: (r["version"], r["assignee"], r["fields"]) for r in body["records"]}
        return acks, recs, sorted(body["removed"])


class Model:
    def __init__(self) -> None:
        self.m = ServerModel(emit=lambda ev: None, devices=DEVICES)
        self.cursors: dict[str, str | None] = dict.fromkeys(DEVICES)

    def dispatch(self, op, record, assignee=None, fields=None):
        fields = dict(fields or {})
        status = fields.pop("status", None)
        self.m.dispatch(0.0, op, record, assignee, status=status, fields=fields)

    def sync(self, dev, changes):
        acks, recs, removed, _files, cursor, _n = self.m.sync(
            0.0, dev, {"device": dev, "cursor": self.cursors[dev], "mode": "full",
                       "changes": [{**c, "file": None} for c in changes]})
        self.cursors[dev] = cursor
        out_acks = [(a.change, a.record, None if a.conflict == "not in scope" else a.version)
                    for a in acks]
        out_recs = {r.id: (r.version, r.assignee, dict(r.fields)) for r in recs}
        return out_acks, out_recs, sorted(removed)


def day(seed: int):
    """A stream of operations: (kind, args)."""
    rng = random.Random(seed)
    jobs: list[str] = []
    known: dict[str, dict[str, int | None]] = {d: {} for d in DEVICES}  # device's versions
    sent: list[tuple[str, dict]] = []
    n = 0
    for i in range(STEPS):
        x = rng.random()
        if x < 0.15 or not jobs:
            rid = f"j{i}"
            jobs.append(rid)
            yield "dispatch", ("create", rid, rng.choice(DEVICES), {"status": "new", "title": f"t{i}"})
        elif x < 0.25:
            yield "dispatch", ("assign", rng.choice(jobs), rng.choice(DEVICES + (None,)), None)
        elif x < 0.35:
            yield "dispatch", ("edit", rng.choice(jobs), None, {"title": f"e{i}", "note": rng.random()})
        elif x < 0.42:
            yield "dispatch", ("status", rng.choice(jobs), None, {"status": rng.choice(["en_route", "done"])})
        else:
            dev = rng.choice(DEVICES)
            changes = []
            for _ in range(rng.randint(0, 3)):
                n += 1
                y = rng.random()
                if y < 0.15 and sent:  # a retry of an earlier change id, by its device
                    owner, c = rng.choice(sent)
                    if owner == dev and c not in changes:
                        changes.append(c)
                    continue
                if y < 0.3:
                    rid, base = f"{dev}-new{n}", None  # a record the device creates
                else:
                    rid = rng.choice(jobs + list(known[dev]))
                    base = known[dev].get(rid)
                    if base is not None and base > 1 and rng.random() < 0.2:
                        base -= 1  # a stale base
                kind = rng.choice(["text", "status"])
                fields = {"report": f"r{n}"} if kind == "text" else {"status": "started"}
                c = {"change": f"{dev}-c{n}", "record": rid, "kind": kind, "base_version": base,
                     "fields": fields}
                sent.append((dev, c))
                changes.append(c)
            yield "sync", (dev, changes, known[dev])


@pytest.mark.parametrize("seed", range(6))
def test_model_and_core_answer_a_day_alike(seed):
    ref, model = Reference(), Model()
    n_syncs = n_acks = n_recs = n_removed = 0
    for kind, args in day(seed):
        if kind == "dispatch":
            op, rid, who, fields = args
            if op == "create":
                ref.dispatch(op, rid, who, fields)
                model.dispatch(op, rid, who, fields)
            elif op in ("assign",):
                ref.dispatch("assign" if who else "unassign", rid, who)
                model.dispatch("assign" if who else "unassign", rid, who)
            else:
                ref.dispatch(op, rid, None, fields)
                model.dispatch(op, rid, None, fields)
            continue
        dev, changes, known = args
        a, b = ref.sync(dev, changes), model.sync(dev, changes)
        assert a == b, (seed, dev, changes, a, b)
        acks, recs, removed = a
        for _, rid, version in acks:
            if version is not None:
                known[rid] = version
        for rid, (version, _, _) in recs.items():
            known[rid] = version
        for rid in removed:
            known.pop(rid, None)
        n_syncs += 1
        n_acks += len(acks)
        n_recs += len(recs)
        n_removed += len(removed)
    for dev in DEVICES:  # the final scope, as a fresh install would see it
        ref.cursors[dev] = model.cursors[dev] = None
        assert ref.sync(dev, []) == model.sync(dev, []), dev
    # The stream exercised what it is meant to.
    assert n_syncs > 100 and n_acks > 100 and n_recs > 50 and n_removed > 5
