"""Test tools: a builder for hand-written traces (tests, examples, bug reports).

    tb = TraceBuilder(policy="planado", settled=True)
    tb.link(0, "d1", "wifi").app(0, "d1", "opened").sync(1, "d1", "open", end=2)
    results = tb.check()          # RuleResult list for the policy
    tb.verdict("planado.cadence") # "pass" | "fail" | "n/a"

Sync and change ids are generated per device when not given, so a test reads
as the story it tells.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.trace.writer import dumps, event, meta


class TraceBuilder:
    def __init__(self, policy: str | None = "planado", *, settled: bool | None = None,
                 seed: int | None = None, params: dict[str, Any] | None = None,
                 extra_meta: dict[str, Any] | None = None) -> None:
        self.meta = meta(policy, settled=settled, seed=seed, params=params, **(extra_meta or {}))
        self.events: list[dict[str, Any]] = []
        self._n: dict[tuple[str, str], int] = {}

    def _id(self, dev: str, prefix: str) -> str:
        n = self._n.get((dev, prefix), 0) + 1
        self._n[(dev, prefix)] = n
        return f"{dev}-{prefix}{n}"

    def add(self, ev: str, t: float, dev: str | None = None, **fields: Any) -> TraceBuilder:
        self.events.append(event(ev, t, dev, **fields))
        return self

    # -- device events -----------------------------------------------------------
    def link(self, t: float, dev: str, cls: str) -> TraceBuilder:
        return self.add("link", t, dev, class_=cls)

    def app(self, t: float, dev: str, state: str) -> TraceBuilder:
        return self.add("app", t, dev, state=state)

    def manual(self, t: float, dev: str, via: str | None = None) -> TraceBuilder:
        return self.add("manual", t, dev, via=via)

    def edit(self, t: float, dev: str, record: str, kind: str = "text", *, change: str | None = None,
             bytes: int | None = None, status: str | None = None,
             fields: dict[str, Any] | None = None, sha256: str | None = None) -> str:
        change = change or self._id(dev, "c")
        self.add("edit", t, dev, change=change, record=record, kind=kind, bytes=bytes, status=status,
                 fields=fields, sha256=sha256)
        return change

    def sync_start(self, t: float, dev: str, trigger: str, sync: str | None = None) -> str:
        sync = sync or self._id(dev, "s")
        self.add("sync_start", t, dev, sync=sync, trigger=trigger)
        return sync

    def sync_end(self, t: float, dev: str, sync: str, ok: bool = True, error: str | None = None) -> TraceBuilder:
        return self.add("sync_end", t, dev, sync=sync, ok=ok, error=error)

    def sync(self, t: float, dev: str, trigger: str, *, end: float | None = None, ok: bool = True) -> str:
        """A whole sync: start at t, end at ``end`` (default t + 1)."""
        sid = self.sync_start(t, dev, trigger)
        self.sync_end(t + 1 if end is None else end, dev, sid, ok)
        return sid

    def file_start(self, t: float, dev: str, file: str, dir: str = "up", bytes: int = 100_000,
                   sync: str | None = None) -> TraceBuilder:
        return self.add("file_start", t, dev, file=file, dir=dir, bytes=bytes, sync=sync)

    def file_end(self, t: float, dev: str, file: str, dir: str = "up", ok: bool = True,
                 bytes: int | None = None) -> TraceBuilder:
        return self.add("file_end", t, dev, file=file, dir=dir, ok=ok, bytes=bytes)

    def ack(self, t: float, dev: str, change: str, version: int | None = None) -> TraceBuilder:
        return self.add("ack", t, dev, change=change, version=version)

    def push_channel(self, t: float, dev: str, up: bool) -> TraceBuilder:
        return self.add("push_channel", t, dev, up=up)

    def recv(self, t: float, dev: str, record: str, version: int, sync: str | None = None) -> TraceBuilder:
        return self.add("recv", t, dev, record=record, version=version, sync=sync)

    def push(self, t: float, dev: str, record: str, reason: str | None = None) -> TraceBuilder:
        return self.add("push", t, dev, record=record, reason=reason)

    def unsent(self, t: float, dev: str, n: int) -> TraceBuilder:
        return self.add("unsent", t, dev, n=n)

    def last_sync(self, t: float, dev: str, at: float | None) -> TraceBuilder:
        return self.add("last_sync", t, dev, at=at)

    def snapshot(self, t: float, dev: str, records: dict[str, int]) -> TraceBuilder:
        return self.add("snapshot", t, dev, records=records)

    # -- server and web events -----------------------------------------------------
    def dispatch(self, t: float, op: str, record: str, assignee: str | None, **fields: Any) -> TraceBuilder:
        return self.add("dispatch", t, op=op, record=record, assignee=assignee, **fields)

    def srv_push(self, t: float, dev: str, record: str, reason: str | None = None) -> TraceBuilder:
        return self.add("srv_push", t, dev, record=record, reason=reason)

    def srv_apply(self, t: float, dev: str, change: str, record: str, version: int) -> TraceBuilder:
        return self.add("srv_apply", t, dev, change=change, record=record, version=version)

    def srv_snapshot(self, t: float, dev: str, records: dict[str, int]) -> TraceBuilder:
        return self.add("srv_snapshot", t, dev, records=records)

    def srv_record(self, t: float, record: str, version: int, assignee: str | None, *,
                   fields: dict[str, Any] | None = None,
                   files: dict[str, str] | None = None) -> TraceBuilder:
        """The bench's reading of a record through the server's API (no ``dev``)."""
        return self.add("srv_record", t, record=record, version=version, assignee=assignee,
                        fields=fields, files=files)

    # -- output ---------------------------------------------------------------------
    def sorted_events(self) -> list[dict[str, Any]]:
        """Events in time order (stable), so a story may be written out of order."""
        return sorted(self.events, key=lambda e: e["t"])

    def lines(self) -> bytes:
        return dumps(self.meta) + b"".join(dumps(e) for e in self.sorted_events())

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_bytes(self.lines())
        return path

    def check(self, policy: str | None = None, **params: float):
        from bench.rules import Checker, get_policy

        pol = get_policy(policy or self.meta.get("policy") or "planado")
        checker = Checker(pol, meta=self.meta, params=params or None)
        checker.feed_all(self.sorted_events())
        return checker.finish()

    def results(self, policy: str | None = None, **params: float) -> dict[str, Any]:
        return {r.id: r for r in self.check(policy, **params)}

    def verdict(self, rule: str, policy: str | None = None, **params: float) -> str:
        return self.results(policy, **params)[rule].verdict
