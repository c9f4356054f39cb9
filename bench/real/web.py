"""The dispatcher in a real run: the scenario's web operations through the web API.

Theory of operation: the dispatcher sits at the web application, not on a
phone, so its requests go straight to the server (no shaped link). Explicit
``dispatch:`` steps are replayed at ``t0 + t / K``; the scenario's random
``dispatcher:`` work is drawn with the simulator's rates and choices
(``bench.sim.people.dispatcher``, drawing from ``bench.scenario.dispatch``: jobs at start for every device that has a
behaviour, then Poisson operations per device per hour) from
``random.Random("<seed>/dispatcher")``. The scope the random dispatcher picks
from is what it assigned itself (records the devices created are theirs, and
the web application does not touch them).

The runner is the oracle of a team's own server, which writes no trace of
ours: with ``record=True`` every operation the web API answered becomes a
``dispatch`` event (its ``t`` the moment the request was sent, so a device can
never see its effect "before" it; ``version`` and ``fields`` from the answer
and the request), and :meth:`Dispatcher.read_back` reads every record of the
run through the API at the end (``srv_record``), the value oracle of
``core.no_loss`` and ``core.exactly_once``.

Each operation maps to docs/protocol.md "Web application (dispatcher) API";
``attach`` first uploads the file through the files endpoints. With
``record=True`` (a team's own server, whose trace we do not have) the final
snapshot's answer is kept as ``srv_snapshot`` events, so ``core.converge``
still compares devices with that server.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

import httpx

from bench.scenario.dispatch import dispatcher_draws
from bench.scenario.model import DispatchStep, Scenario

# The web application's requests are local; 30 s only bounds a hung server.
WEB_TIMEOUT_S = 30.0
# Bytes of one attachment when the scenario gives none (the scenario format's
# own default, bench.scenario.model.DispatcherSpec.attach_bytes).
DEFAULT_ATTACH_BYTES = 200_000


class Dispatcher:
    def __init__(self, *, url: str, token: str, users: dict[str, str], k: float, t0: float,
                 record: bool = False, tag: str | None = None) -> None:
        self.http = httpx.AsyncClient(base_url=url, timeout=WEB_TIMEOUT_S,
                                      headers={"Authorization": f"Bearer {token}"})
        self.users = users  # scenario device id -> server user id
        self.devs = {v: k_ for k_, v in users.items()}
        self.k = k
        self.t0 = t0
        self.record = record
        # Run isolation on a long-lived server: every record and file id the
        # scenario names gets the run's tag (``job-1`` -> ``job-1.<tag>``).
        self.tag = tag
        self.events: list[dict[str, Any]] = []
        self.scope: dict[str, list[str]] = {}  # device -> records the dispatcher gave it
        self.errors: list[str] = []
        self.n_file = 0
        self.uploaded: set[str] = set()  # files already uploaded and finished
        self.touched: set[str] = set()  # records the dispatcher operated on

    def now(self) -> float:
        return (time.time() - self.t0) * self.k

    def rid(self, name: str) -> str:
        """``name`` under the run's tag (unchanged without one, or if it has it)."""
        if not self.tag or name.endswith("." + self.tag):
            return name
        return f"{name}.{self.tag}"

    async def until(self, t: float) -> None:
        import asyncio

        wait = self.t0 + t / self.k - time.time()
        if wait > 0:
            await asyncio.sleep(wait)

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, body: Any) -> dict[str, Any] | None:
        r = await self.http.request(method, path, json=body)
        if r.status_code >= 400:
            self.errors.append(f"dispatcher {method} {path}: {r.status_code} {r.text[:200]}")
            return None
        return r.json()

    async def _upload(self, file: str, nbytes: int, rng: random.Random) -> bool:
        data = rng.randbytes(nbytes)
        r = await self.http.patch(f"/v1/files/{file}/upload", content=data,
                                  headers={"Upload-Offset": "0",
                                           "Content-Type": "application/octet-stream"})
        if r.status_code >= 400:
            self.errors.append(f"dispatcher upload {file}: {r.status_code} {r.text[:200]}")
            return False
        done = await self._call("POST", f"/v1/files/{file}/finish",
                                {"sha256": hashlib.sha256(data).hexdigest(), "bytes": nbytes})
        return done is not None

    async def op(self, op: str, record: str, assignee: str | None, *, status: str | None = None,
                 file: str | None = None, nbytes: int | None = None,
                 fields: dict[str, Any] | None = None, rng: random.Random | None = None) -> None:
        user = self.users.get(assignee, assignee) if assignee is not None else None
        record = self.rid(record)
        if file is not None:
            file = self.rid(file)
        sent_at = self.now()
        written: dict[str, Any] = {}
        if op == "create":
            written = {"status": status or "new", **(fields or {})}
            body: dict[str, Any] = {"id": record, "assignee": user, "fields": written}
            out = await self._call("POST", "/v1/web/jobs", body)
        elif op == "assign":
            out = await self._call("POST", f"/v1/web/jobs/{record}/assign", {"assignee": user})
        elif op == "unassign":
            out = await self._call("POST", f"/v1/web/jobs/{record}/unassign", {})
        elif op == "status":
            out = await self._call("POST", f"/v1/web/jobs/{record}/status",
                                   {"status": status or "started"})
        elif op == "edit":
            written = fields or {"notes": f"edited at {self.now():.0f}"}
            out = await self._call("PATCH", f"/v1/web/jobs/{record}", {"fields": written})
        elif op == "attach":
            nbytes = nbytes or DEFAULT_ATTACH_BYTES
            file = file or self.rid(record.removesuffix(f".{self.tag}") + "-file")
            if file not in self.uploaded and not await self._upload(file, nbytes,
                                                                    rng or random.Random(file)):
                return
            out = await self._call("POST", f"/v1/web/jobs/{record}/attach", {"file": file})
        else:
            self.errors.append(f"dispatcher: unknown op {op!r}")
            return
        if out is None:
            return
        after_user = out.get("assignee")
        after = self.devs.get(after_user, after_user)
        for dev, recs in self.scope.items():
            if dev != after and record in recs:
                recs.remove(record)
        if after is not None and record not in self.scope.setdefault(after, []):
            self.scope[after].append(record)
        self.touched.add(record)
        if self.record:
            # trace.md: ``assignee`` is "the device the record is assigned to after the op".
            ev: dict[str, Any] = {"ev": "dispatch", "t": round(max(sent_at, 0.0), 6), "op": op,
                                  "record": record, "assignee": after_user}
            if isinstance(out.get("version"), int):
                ev["version"] = out["version"]
            if op in ("create", "status"):
                ev["status"] = status or ("new" if op == "create" else "started")
            if written:
                ev["fields"] = written
            if op == "attach":
                ev["file"], ev["bytes"] = file, nbytes
            self.events.append(ev)

    async def prepare(self, timeline: tuple[DispatchStep, ...]) -> None:
        """Upload the explicit steps' attachments before the run starts: at K = 60
        a 3 MB upload would make the ``attach`` a spec minute late."""
        for d in timeline:
            file = self.rid(d.file) if d.file else None
            if d.op == "attach" and file and file not in self.uploaded:
                nbytes = d.bytes or DEFAULT_ATTACH_BYTES
                if await self._upload(file, nbytes, random.Random(f"{d.record}/{d.file}")):
                    self.uploaded.add(file)

    async def steps(self, timeline: tuple[DispatchStep, ...]) -> None:
        for d in timeline:
            await self.until(d.t)
            await self.op(d.op, d.record, d.assignee, status=d.status, file=d.file, nbytes=d.bytes,
                          rng=random.Random(f"{d.record}/{d.file}"))

    async def random_work(self, sc: Scenario, behaving: list[str]) -> None:
        """The scenario's ``dispatcher:`` rates (bench.scenario.dispatch, in wall time)."""
        if not behaving:
            return
        rng = random.Random(f"{sc.seed}/dispatcher")
        await self.until(0.0)
        t = 0.0
        for draw in dispatcher_draws(sc.dispatcher, behaving, rng, lambda dev: self.scope.get(dev, [])):
            if draw[0] == "wait":
                t += draw[1]
                if t >= sc.duration_s:
                    return
                await self.until(t)
                continue
            _, op, record, dev, fields = draw
            if op == "attach":
                fields = dict(fields, rng=rng)
            await self.op(op, record, dev, **fields)

    async def snapshot(self, devices: list[str]) -> dict[str, dict[str, int]]:
        users = [self.users[d] for d in devices]
        out = await self._call("POST", "/v1/web/snapshot", {"devices": users})
        snaps = (out or {}).get("snapshots", {})
        result = {self.devs.get(u, u): recs for u, recs in snaps.items()}
        if self.record:
            t = round(self.now(), 6)
            for dev in devices:
                self.events.append({"ev": "srv_snapshot", "t": t, "dev": self.users[dev],
                                    "records": result.get(dev, {})})
        return result


    async def read_back(self, devices: list[str], also: set[str] = frozenset()) -> int:
        """One ``srv_record`` per record of the run, as the web API returns it now.

        The records are those in each device's scope (``GET /v1/web/jobs?assignee=``)
        and every one the dispatcher or a device touched (``also``), read one by
        one. Returns how many were read; a record the API does not return is
        left out (the rules then judge nothing of it)."""
        seen: dict[str, dict[str, Any]] = {}
        for dev in devices:
            r = await self.http.get("/v1/web/jobs", params={"assignee": self.users[dev]})
            if r.status_code == 200:
                for rec in (r.json() or {}).get("records") or ():
                    if isinstance(rec, dict) and isinstance(rec.get("id"), str):
                        seen[rec["id"]] = rec
            else:
                self.errors.append(f"dispatcher GET /v1/web/jobs?assignee={self.users[dev]}: "
                                   f"{r.status_code} {r.text[:200]}")
        for rid in sorted((self.touched | {self.rid(r) for r in also}) - set(seen)):
            r = await self.http.get(f"/v1/web/jobs/{rid}")
            if r.status_code == 200 and isinstance(r.json(), dict):
                seen[rid] = r.json()
        t = round(self.now(), 6)
        for rid in sorted(seen):
            rec = seen[rid]
            if not isinstance(rec.get("version"), int):
                continue
            user = rec.get("assignee")
            ev: dict[str, Any] = {"ev": "srv_record", "t": t, "record": rid,
                                  "version": rec["version"],
                                  "assignee": user if isinstance(user, str) else None}
            fields = rec.get("fields")
            if isinstance(fields, dict):
                ev["fields"] = fields
            files = rec.get("files")
            if isinstance(files, list):
                ev["files"] = {f["id"]: f.get("sha256") or "" for f in files
                               if isinstance(f, dict) and isinstance(f.get("id"), str)}
            self.events.append(ev)
        return len(seen)
