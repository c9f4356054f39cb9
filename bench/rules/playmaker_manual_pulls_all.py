"""playmaker.manual_pulls_all: a manual sync pulls every updated record.

Server version "strictly before t" is kept per record as the latest version
and the largest version of events at earlier times, enough for a query at the
current time since events arrive in non-decreasing ``t``.
"""

from __future__ import annotations

from bench.rules.base import Rule, fmt_t, register


class _Version:
    __slots__ = ("t", "latest", "before")

    def __init__(self) -> None:
        self.t = float("-inf")
        self.latest = 0.0
        self.before = 0.0  # largest version from events with t < self.t

    def add(self, t: float, v: float) -> None:
        if t > self.t:
            self.before = self.latest
            self.t = t
        self.latest = max(self.latest, v)

    def strictly_before(self, t: float) -> float:
        return self.latest if self.t < t else self.before


@register
class ManualPullsAll(Rule):
    id = "playmaker.manual_pulls_all"
    needs_server_trace = False
    why_na = 'no successful manual sync while the trace has `dispatch` events'
    title = "A manual sync pulls all updated records"
    source = "This process will pull all updated records from the web"
    statement = (
        "After each successful `manual` sync, for every record assigned to the device at that "
        "sync's start, the device's version (largest `recv` version, or `srv_apply` version of "
        "its own change, or the `version` of its `ack`) is at least the server version at that sync's start. No `dispatch`: n/a."
    )

    def __init__(self, ctx, values) -> None:
        super().__init__(ctx, values)
        self._server: dict[str, _Version] = {}
        self._device: dict[tuple[str, str], float] = {}
        self._assigned: dict[str, set[str]] = {}  # device -> records assigned now
        self._owner: dict[str, str] = {}  # record -> its assignee now
        self._pending: dict[tuple[str, str], dict[str, float]] = {}  # (dev, sync) -> record -> version
        self._edits: dict[tuple[str, str], str] = {}  # (dev, change) -> record, until acked

    def _server_version(self, rec: str, t: float, v: float) -> None:
        sv = self._server.get(rec)
        if sv is None:
            sv = self._server[rec] = _Version()
        sv.add(t, v)

    def on_dispatch(self, ev, ds) -> None:
        rid, new = ev["record"], ev["assignee"]
        old = self._owner.get(rid)
        if old != new:
            if old is not None:
                self._assigned[old].discard(rid)
            if new is None:
                self._owner.pop(rid, None)
            else:
                self._owner[rid] = new
                self._assigned.setdefault(new, set()).add(rid)
        if ev.get("version") is not None:
            self._server_version(ev["record"], ev["t"], ev["version"])

    def on_srv_apply(self, ev, ds) -> None:
        self._server_version(ev["record"], ev["t"], ev["version"])
        key = (ds.dev, ev["record"])
        self._device[key] = max(self._device.get(key, 0), ev["version"])

    def on_edit(self, ev, ds) -> None:
        self._edits[(ds.dev, ev["change"])] = ev["record"]

    def on_ack(self, ev, ds) -> None:
        # Black-box form: the version the server's ack named stands for the
        # srv_apply of the device's own change (a server that writes no trace).
        rec = self._edits.pop((ds.dev, ev["change"]), None)
        if rec is not None and ev.get("version") is not None:
            key = (ds.dev, rec)
            self._device[key] = max(self._device.get(key, 0), ev["version"])

    def on_recv(self, ev, ds) -> None:
        key = (ds.dev, ev["record"])
        self._device[key] = max(self._device.get(key, 0), ev["version"])

    def on_sync_start(self, ev, ds) -> None:
        if ev["trigger"] != "manual":
            return
        t = ev["t"]
        want = {}
        for rec in self._assigned.get(ds.dev, ()):
            sv = self._server.get(rec)
            want[rec] = sv.strictly_before(t) if sv is not None else 0
        self._pending[(ds.dev, ev["sync"])] = want

    def on_sync_end(self, ev, ds) -> None:
        want = self._pending.pop((ds.dev, ev["sync"]), None)
        if want is None or not ev["ok"]:
            return  # "after each successful manual sync": failed ones are not judged
        behind = [(r, v) for r, v in sorted(want.items()) if self._device.get((ds.dev, r), 0) < v]
        if not behind:
            self.passed()
            return
        shown = ", ".join(f"{r} (has {fmt_t(self._device.get((ds.dev, r), 0))}, server {fmt_t(v)})" for r, v in behind[:3])
        more = f" and {len(behind) - 3} more" if len(behind) > 3 else ""
        self.fail(ev["t"], ds.dev, f"manual sync {ev['sync']} ended ok at {fmt_t(ev['t'])} without {shown}{more}")

    def finish(self, end_t) -> None:
        # "No dispatch: n/a" is about the whole trace: a dispatch after a manual
        # sync makes that sync judged (nothing was assigned at its start, so it
        # passes). Without any dispatch no record was ever assigned, so nothing failed.
        if not self.ctx.any_dispatch:
            self.judged = 0
