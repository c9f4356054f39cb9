"""The protocol conformance suite: every guarantee of docs/protocol.md as a named check.

Theory of operation: the suite drives a running server over HTTP and the push
WebSocket only -- it imports nothing of any server -- so a team points it at
its own (``syncbench conformance URL --token ADMIN``, or
:func:`run_conformance` from its tests). It provisions its own users through
the admin API under a fresh run tag, so it can run again and again against one
long-lived server. Each check states the guarantee it holds and the fault that
exposes it (a retry with the same change id, a batch, an incremental cursor,
an upload-only sync, every kind of dispatcher change, a ranged and a resumed
file) and ends ``pass``, ``fail`` (with one line per broken promise) or
``error`` (the server answered something the check could not even read).

    results = run_conformance("http://127.0.0.1:8000", admin_token="...")
    [r.name for r in results if not r.ok]
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

# A push arrives in milliseconds; this bounds a server that never sends one.
PUSH_TIMEOUT_S = 5.0
# How long a socket is watched for pushes that should *not* come.
QUIET_S = 0.5
REQUEST_TIMEOUT_S = 30.0


class CheckFailed(Exception):
    pass


@dataclass(slots=True)
class CheckResult:
    name: str
    guarantee: str
    fault: str
    status: str = "pass"  # pass | fail | error
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "guarantee": self.guarantee, "fault": self.fault,
                "status": self.status, "failures": list(self.failures),
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    guarantee: str
    fault: str
    run: Callable[[_Run], None]


class _Run:
    def __init__(self, url: str, admin_token: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url, timeout=REQUEST_TIMEOUT_S)
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.tag = secrets.token_hex(3)
        self.failures: list[str] = []
        self._n = 0
        self._dispatcher: dict[str, str] | None = None

    # -- helpers ----------------------------------------------------------------
    def expect(self, ok: bool, what: str) -> bool:
        if not ok:
            self.failures.append(what)
        return ok

    def name(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}.{self.tag}"

    def provision(self, user: str, role: str) -> dict[str, str]:
        r = self.http.post("/v1/admin/devices", json={"user": user, "role": role}, headers=self.admin)
        if r.status_code != 201:
            raise CheckFailed(f"POST /v1/admin/devices for {user}: {r.status_code} {r.text[:200]}")
        return {"Authorization": f"Bearer {r.json()['token']}"}

    def worker(self) -> tuple[str, dict[str, str]]:
        w = self.name("cw")
        return w, self.provision(w, "worker")

    @property
    def web(self) -> dict[str, str]:
        if self._dispatcher is None:
            self._dispatcher = self.provision(self.name("cd"), "dispatcher")
        return self._dispatcher

    def call(self, method: str, path: str, body: Any = None, *, headers=None, expect=200) -> Any:
        r = self.http.request(method, path, json=body, headers=headers or self.web)
        if r.status_code != expect:
            raise CheckFailed(f"{method} {path}: expected {expect}, got {r.status_code} {r.text[:200]}")
        return r.json()

    def job(self, assignee: str | None, **fields: Any) -> dict[str, Any]:
        return self.call("POST", "/v1/web/jobs", {"id": self.name("cjob"), "assignee": assignee,
                                                  "fields": {"title": "T", "status": "new", **fields}},
                         expect=201)

    def sync(self, dev: str, auth: dict, *, cursor=None, mode="full", changes=()) -> dict:
        return self.call("POST", "/v1/sync", {"device": dev, "cursor": cursor, "mode": mode,
                                              "changes": list(changes)}, headers=auth)

    def read(self, rid: str) -> dict[str, Any]:
        return self.call("GET", f"/v1/web/jobs/{rid}")

    def upload(self, auth: dict, fid: str, data: bytes) -> None:
        r = self.http.patch(f"/v1/files/{fid}/upload", content=data,
                            headers={**auth, "Upload-Offset": "0",
                                     "Content-Type": "application/octet-stream"})
        if r.status_code != 200:
            raise CheckFailed(f"PATCH /v1/files/{fid}/upload: {r.status_code} {r.text[:200]}")
        self.call("POST", f"/v1/files/{fid}/finish", {"sha256": hashlib.sha256(data).hexdigest(),
                                                      "bytes": len(data)}, headers=auth)

    def pushes(self, sockets: dict[str, dict], action: Callable[[], None],
               wait_for: Callable[[], dict[str, set[str]]]) -> dict[str, list[dict]]:
        """Hold a push socket per device, run ``action``, collect frames until every
        device in ``wait_for()`` (asked after the action) saw its records, or the
        timeout; the others are watched for a short quiet time."""
        import websockets

        ws_url = self.url.replace("http://", "ws://").replace("https://", "wss://") + "/v1/push"

        async def go() -> dict[str, list[dict]]:
            got: dict[str, list[dict]] = {d: [] for d in sockets}
            conns = {d: await websockets.connect(ws_url, additional_headers=h, proxy=None)
                     for d, h in sockets.items()}
            try:
                await asyncio.to_thread(action)
                wanted = wait_for()

                async def listen(d: str, ws) -> None:
                    want = set(wanted.get(d, ()))
                    deadline = time.monotonic() + (PUSH_TIMEOUT_S if want else QUIET_S)
                    while True:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            return
                        try:
                            frame = await asyncio.wait_for(ws.recv(), left)
                        except TimeoutError:
                            return
                        msg = orjson.loads(frame)
                        if isinstance(msg, dict) and msg.get("type") == "push":
                            got[d].append(msg)
                            want.discard(msg.get("record"))
                            if not want and d in wanted:
                                deadline = min(deadline, time.monotonic() + QUIET_S)

                await asyncio.gather(*(listen(d, ws) for d, ws in conns.items()))
            finally:
                for ws in conns.values():
                    await ws.close()
            return got

        return asyncio.run(go())


def _change(run: _Run, record: str, kind: str, base: int | None, **fields: Any) -> dict:
    return {"change": run.name("cc"), "record": record, "kind": kind, "base_version": base,
            "fields": fields}


# -- the checks -------------------------------------------------------------------------

def _auth(run: _Run) -> None:
    run.expect(run.http.get("/v1/health").status_code == 200, "GET /v1/health without a token")
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        r = run.http.post("/v1/sync", json={}, headers=headers)
        run.expect(r.status_code == 401, f"POST /v1/sync with {headers or 'no token'}: "
                                         f"expected 401, got {r.status_code}")


def _exactly_once(run: _Run) -> None:
    w, h = run.worker()
    job = run.job(w)
    c = _change(run, job["id"], "status", job["version"], status="started")
    first = run.sync(w, h, changes=[c])["acks"]
    again = run.sync(w, h, changes=[c])["acks"]  # the answer was "lost": the device retries
    run.expect(again == first, f"a retried change id is acked again as before: {first} then {again}")
    now = run.read(job["id"])["version"]
    run.expect(now == job["version"] + 1, f"a retry applies nothing: v{job['version']} + one "
                                          f"change is v{job['version'] + 1}, the server has v{now}")


def _batch(run: _Run) -> None:
    w, h = run.worker()
    jobs = [run.job(w) for _ in range(3)]
    changes = [_change(run, j["id"], "text", j["version"], report=f"r{i}")
               for i, j in enumerate(jobs)]
    acks = run.sync(w, h, changes=changes)["acks"]
    run.expect([a.get("change") for a in acks] == [c["change"] for c in changes],
               f"one ack per change, in order: {[a.get('change') for a in acks]}")
    for i, j in enumerate(jobs):
        rec = run.read(j["id"])
        run.expect(rec["fields"].get("report") == f"r{i}" and rec["version"] == j["version"] + 1,
                   f"change {i + 1} of a batch of 3 is applied: {j['id']} has "
                   f"{rec['fields'].get('report')!r} at v{rec['version']}")


def _scope(run: _Run) -> None:
    (a, ha), (b, hb) = run.worker(), run.worker()
    cur_b = run.sync(b, hb)["cursor"]
    job = run.job(a)
    run.expect(job["id"] in [x["id"] for x in run.sync(a, ha)["records"]],
               "the assignee receives its job")
    run.expect(job["id"] not in [x["id"] for x in run.sync(b, hb)["records"]],
               "another worker does not receive the job (full sync)")
    run.expect(job["id"] not in [x["id"] for x in run.sync(b, hb, cursor=cur_b)["records"]],
               "another worker does not receive the job (incremental sync)")
    hijack = _change(run, job["id"], "text", job["version"], title="hijack")
    ack = run.sync(b, hb, changes=[hijack])["acks"]
    run.expect(bool(ack) and ack[0].get("error") is not None,
               f"a change on another worker's record is refused in its ack: {ack}")
    run.expect(run.read(job["id"])["fields"].get("title") == "T", "the refused change is not applied")


def _field_merge(run: _Run) -> None:
    w, h = run.worker()
    job = run.job(w, notes="from the office")
    run.sync(w, h, changes=[_change(run, job["id"], "text", job["version"], report="done")])
    f = run.read(job["id"])["fields"]
    run.expect(f.get("notes") == "from the office" and f.get("report") == "done",
               f"last writer wins per field: a change keeps the fields it does not carry: {f}")


def _stale(run: _Run) -> None:
    w, h = run.worker()
    job = run.job(w)
    run.call("PATCH", f"/v1/web/jobs/{job['id']}", {"fields": {"status": "en_route"}})
    ack = run.sync(w, h, mode="upload",
                   changes=[_change(run, job["id"], "status", job["version"], status="started")])["acks"]
    ok = bool(ack) and ack[0].get("error") is None and ack[0].get("conflict") is not None
    run.expect(ok and ack[0].get("version") == job["version"] + 2,
               f"a stale change still applies (last writer wins) and reports the conflict: {ack}")
    run.expect(run.read(job["id"])["fields"].get("status") == "started",
               "the stale change's value is on the server")


def _upload_only(run: _Run) -> None:
    w, h = run.worker()
    job = run.job(w)
    cur = run.sync(w, h)["cursor"]
    run.job(w)  # something new to download, which an upload-only sync must not carry
    out = run.sync(w, h, cursor=cur, mode="upload",
                   changes=[_change(run, job["id"], "text", job["version"], report="x")])
    run.expect(not out.get("records") and not out.get("removed") and not out.get("files"),
               f"an upload-only answer carries no records: {sorted(out)}")
    run.expect(out.get("cursor") == cur, "an upload-only answer returns the cursor unchanged")


def _cursor_web_edits(run: _Run) -> None:
    w, h = run.worker()
    job = run.job(w)
    rid = job["id"]
    data = b"conformance attachment" * 10
    fid = run.name("cfa")
    run.upload(run.web, fid, data)
    cur = run.sync(w, h)["cursor"]
    run.expect(run.sync(w, h, cursor=cur)["records"] == [], "nothing new: nothing sent")
    for op, call in (("edit", ("PATCH", f"/v1/web/jobs/{rid}", {"fields": {"notes": "n"}})),
                     ("status", ("POST", f"/v1/web/jobs/{rid}/status", {"status": "paused"})),
                     ("attach", ("POST", f"/v1/web/jobs/{rid}/attach", {"file": fid}))):
        want = run.call(*call)["version"]
        out = run.sync(w, h, cursor=cur)
        got = [x.get("version") for x in out["records"] if x["id"] == rid]
        run.expect(got == [want], f"an incremental sync sees the web {op}: v{want} expected, "
                                  f"got {got or 'nothing'}")
        cur = out["cursor"]


def _removals(run: _Run) -> None:
    (a, ha), (b, _) = run.worker(), run.worker()
    j1, j2 = run.job(a), run.job(a)
    cur = run.sync(a, ha)["cursor"]
    run.call("POST", f"/v1/web/jobs/{j1['id']}/unassign", {})
    run.call("POST", f"/v1/web/jobs/{j2['id']}/assign", {"assignee": b})
    removed = run.sync(a, ha, cursor=cur).get("removed") or []
    run.expect(sorted(removed) == sorted([j1["id"], j2["id"]]),
               f"unassigned and reassigned jobs are listed in removed: {removed}")


def _files_listed(run: _Run) -> None:
    w, h = run.worker()
    job = run.job(w)
    data = b"listed" * 100
    fid = run.name("cfl")
    run.upload(run.web, fid, data)
    run.call("POST", f"/v1/web/jobs/{job['id']}/attach", {"file": fid})
    out = run.sync(w, h)
    files = [f for f in out.get("files") or () if f.get("id") == fid]
    run.expect(len(files) == 1 and files[0].get("sha256") == hashlib.sha256(data).hexdigest()
               and files[0].get("record") == job["id"],
               f"a sync lists the attachments of the records it returns: {out.get('files')}")
    r = run.http.get(f"/v1/files/{fid}", headers=h)
    run.expect(r.status_code == 200 and r.content == data,
               f"the assignee downloads the attachment: {r.status_code}")


def _files_ranged(run: _Run) -> None:
    w, h = run.worker()
    fid, data = run.name("cfr"), bytes(range(256)) * 40
    base = f"/v1/files/{fid}"
    octet = {**h, "Content-Type": "application/octet-stream"}
    run.http.patch(base + "/upload", content=data[:4000], headers={**octet, "Upload-Offset": "0"})
    off = run.http.get(base + "/upload", headers=h).json().get("offset")
    run.expect(off == 4000, f"a resumed upload: the offset after 4000 bytes is {off}")
    wrong = run.http.patch(base + "/upload", content=data[4000:], headers={**octet, "Upload-Offset": "10"})
    run.expect(wrong.status_code == 409, f"a wrong Upload-Offset gives {wrong.status_code}, not 409")
    run.http.patch(base + "/upload", content=data[4000:], headers={**octet, "Upload-Offset": "4000"})
    bad = run.http.post(base + "/finish", headers=h, json={"sha256": "0" * 64, "bytes": len(data)})
    run.expect(bad.status_code == 422, f"a wrong hash gives {bad.status_code}, not 422")
    run.http.patch(base + "/upload", content=data, headers={**octet, "Upload-Offset": "0"})
    ok = run.http.post(base + "/finish", headers=h,
                       json={"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)})
    run.expect(ok.status_code == 200, f"finish gives {ok.status_code}")
    for rng, want in (("bytes=10-19", data[10:20]), ("bytes=10000-", data[10000:]),
                      ("bytes=-5", data[-5:])):
        part = run.http.get(base, headers={**h, "Range": rng})
        run.expect(part.status_code == 206 and part.content == want,
                   f"Range {rng}: {part.status_code}, {len(part.content)} bytes")
    r = run.http.get(base, headers={**h, "Range": f"bytes={len(data) + 10}-"})
    run.expect(r.status_code == 416, f"an unsatisfiable range gives {r.status_code}, not 416")


def _push_kinds(run: _Run) -> None:
    (a, ha), (b, hb) = run.worker(), run.worker()
    fid = run.name("cfp")
    run.upload(run.web, fid, b"push attachment")
    made: dict[str, str] = {}

    def ops() -> None:
        made["create"] = run.job(a)["id"]
        for op, method, path, body in (
                ("edit", "PATCH", "", {"fields": {"notes": "n"}}),
                ("status", "POST", "/status", {"status": "started"}),
                ("attach", "POST", "/attach", {"file": fid})):
            rid = run.job(a)["id"]
            run.call(method, f"/v1/web/jobs/{rid}{path}", body)
            made[op] = rid
        made["assign"] = rid = run.call("POST", "/v1/web/jobs", {"id": run.name("cjob"),
                                                                 "assignee": None}, expect=201)["id"]
        run.call("POST", f"/v1/web/jobs/{rid}/assign", {"assignee": a})
        made["reassign"] = rid = run.job(b)["id"]
        time.sleep(0.2)  # b's create push first, then the move to a
        run.call("POST", f"/v1/web/jobs/{rid}/assign", {"assignee": a})

    got = run.pushes({a: ha, b: hb}, ops,
                     lambda: {a: set(made.values()), b: {made["reassign"]}})
    count: dict[str, int] = {}
    for m in got[a]:
        count[m.get("record")] = count.get(m.get("record"), 0) + 1
    seen_b = [(m.get("record"), m.get("reason")) for m in got[b]]
    # Operations on a's behalf per record: create alone; create then edit/status/attach;
    # assign (from nobody); reassign (from b). One push each, at least.
    ops_on = {"create": 1, "edit": 2, "status": 2, "attach": 2, "assign": 1, "reassign": 1}
    for op, rid in made.items():
        run.expect(count.get(rid, 0) >= ops_on[op],
                   f"a dispatcher {op} pushes to the assignee: {rid} got {count.get(rid, 0)} "
                   f"push(es) for {ops_on[op]} operation(s)")
    run.expect((made["reassign"], "unassign") in seen_b,
               f"a reassignment pushes `unassign` to the previous assignee: {seen_b}")


def _push_scope(run: _Run) -> None:
    (a, ha), (b, hb) = run.worker(), run.worker()
    jobs: list[str] = []
    got = run.pushes({a: ha, b: hb}, lambda: jobs.extend(run.job(a)["id"] for _ in range(2)),
                     lambda: {a: set(jobs)})
    leaked = [m.get("record") for m in got[b] if m.get("record") in jobs]
    run.expect(not leaked, f"a push goes only to the record's assignee: {b} got {leaked}")
    run.expect({m.get("record") for m in got[a]} >= set(jobs), "the assignee got its pushes")


def _forged_cursor(run: _Run) -> None:
    w, h = run.worker()
    r = run.http.post("/v1/sync", headers=h, json={"device": w, "cursor": "1.forged", "mode": "full"})
    run.expect(r.status_code == 400, f"a forged cursor: expected 400, got {r.status_code}")


CHECKS: tuple[Check, ...] = (
    Check("auth", "every request but /v1/health needs a valid token", "no token, a bad token", _auth),
    Check("exactly_once_retry", "a change id seen before is acked as before and not applied again",
          "the same change sent twice (a lost answer, retried)", _exactly_once),
    Check("batch_acks", "one ack per change of a request, in order, every change applied",
          "a batch of three changes (edits saved offline)", _batch),
    Check("scope", "a device receives, and may change, only its user's records",
          "another worker's full and incremental syncs, and its change", _scope),
    Check("field_merge", "last writer wins per field: fields a change does not carry stay",
          "a device's text change after the dispatcher's fields", _field_merge),
    Check("stale_applies", "a change on a stale base still applies, with a conflict reason",
          "a device change racing a web edit of the same record", _stale),
    Check("upload_only_no_records", "an upload-only answer carries acks only, cursor unchanged",
          "an upload with something new waiting", _upload_only),
    Check("cursor_sees_web_edits", "an incremental sync returns every web edit, status and attach",
          "each web operation followed by a sync from the last cursor", _cursor_web_edits),
    Check("removals", "records that left the scope are listed in `removed`",
          "an unassign and a reassignment", _removals),
    Check("files_listed", "a sync lists the files attached to the records it returns",
          "a dispatcher attachment", _files_listed),
    Check("files_ranged_resumed", "uploads resume at the offset; downloads honour Range",
          "a cut upload, a wrong offset, a wrong hash, three ranges", _files_ranged),
    Check("push_every_kind", "every dispatcher change kind pushes to the assignee; a move "
          "pushes `unassign` to the previous one", "create, edit, status, attach, assign, reassign",
          _push_kinds),
    Check("push_scope", "a push goes only to the record's assignee",
          "another worker's socket held while jobs are made", _push_scope),
    Check("forged_cursor", "a cursor the server did not issue is refused (400)",
          "a forged cursor", _forged_cursor),
)


def run_conformance(url: str, *, admin_token: str, only: Callable[[str], bool] | None = None
                    ) -> list[CheckResult]:
    """Run every check (or those ``only`` accepts) against ``url``; one result each."""
    out = []
    run = _Run(url, admin_token)
    try:
        for c in CHECKS:
            if only is not None and not only(c.name):
                continue
            res = CheckResult(c.name, c.guarantee, c.fault)
            run.failures = []
            t = time.perf_counter()
            try:
                c.run(run)
            except (CheckFailed, httpx.HTTPError, OSError, ValueError, KeyError, TypeError) as exc:
                res.status = "error"
                res.failures.append(f"{type(exc).__name__}: {exc}"[:300])
            except Exception as exc:  # noqa: BLE001 - a check's crash is that check's error
                res.status = "error"
                res.failures.append(f"{type(exc).__name__}: {exc}"[:300])
            if run.failures:
                res.failures[:0] = run.failures
                if res.status == "pass":
                    res.status = "fail"
            res.seconds = time.perf_counter() - t
            out.append(res)
    finally:
        run.http.close()
    return out


def check_server(url: str, *, admin_token: str) -> list[str]:
    """The suite's failures as lines ``check: what`` (empty: the server conforms)."""
    return [f"{r.name}: {f}" for r in run_conformance(url, admin_token=admin_token)
            for f in r.failures]


def conformance_tests(server: Callable[[], tuple[str, str]]):
    """A pytest test, one case per named check, for a team's own test suite::

        from bench.testing.conformance import conformance_tests
        test_conformance = conformance_tests(lambda: (os.environ["URL"], os.environ["TOKEN"]))

    ``server`` is called once per case and gives ``(url, admin_token)``.
    """
    import pytest

    @pytest.mark.parametrize("check", [c.name for c in CHECKS])
    def test_conformance(check: str) -> None:
        url, token = server()
        (res,) = run_conformance(url, admin_token=token, only=lambda n: n == check)
        if not res.ok:
            pytest.fail(f"{check} ({res.guarantee}): " + "; ".join(res.failures), pytrace=False)

    return test_conformance
