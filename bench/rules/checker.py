"""The one-pass rule checker.

Theory of operation::

    events --> Checker.feed(ev) --+--> fire deadlines < ev.t   (Context clock)
                                  +--> apply ev to Context      (derived state)
                                  +--> on_up / on_down hooks    (online & running changed)
                                  +--> rule.on_<kind>(ev, ds)   (only rules that handle the kind)
               Checker.finish()  -----> rule.finish(end_t) -> RuleResult per rule

Every rule of a policy runs in the same pass, so the simulator can feed the
same checker event by event while it runs ("the same rule monitors as
``syncbench check``, fed as events happen"). Unknown event kinds are passed
over without advancing the clock: "The end of the trace is the t of its last
event of a known kind."
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.rules.base import REGISTRY, Rule, RuleResult
from bench.rules.policies import Policy, get_policy
from bench.rules.state import Context, DeviceState, RecordState
from bench.trace.schema import EVENTS

# Kinds that change the derived state; the others skip _apply_device.
_STATEFUL = frozenset({"link", "app", "sync_start", "sync_end", "edit", "ack", "srv_apply"})
_RUNNING_APP = {"opened": True, "restored": True, "minimized": True, "closed": False}


class Checker:
    def __init__(self, policy: Policy, *, meta: dict[str, Any] | None = None, params: dict[str, float] | None = None) -> None:
        self.policy = policy
        self.ctx = Context(meta)
        values = policy.resolve_params(meta_params=(meta or {}).get("params"), overrides=params)
        self.params = values
        self.rules: list[Rule] = [REGISTRY[rid](self.ctx, values) for rid in policy.rules]
        self._handlers: dict[str, list] = {}
        for kind in EVENTS:
            self._handlers[kind] = [getattr(r, f"on_{kind}") for r in self.rules if hasattr(r, f"on_{kind}")]
        self._up = [r.on_up for r in self.rules if hasattr(r, "on_up")]
        self._down = [r.on_down for r in self.rules if hasattr(r, "on_down")]
        self.end_t: float | None = None
        self.events = 0
        self.kinds: set[str] = set()  # known kinds seen (for "nothing to judge" messages)
        self._devices = self.ctx.devices

    def feed(self, ev: dict[str, Any]) -> None:
        kind = ev["ev"]
        handlers = self._handlers.get(kind)
        if handlers is None:
            return  # unknown kind (or meta): ignored
        t = ev["t"]
        ctx = self.ctx
        if t > ctx.now:
            ctx.fire_before(t)
            ctx.now = t
        self.end_t = t
        self.events += 1
        if kind not in self.kinds:
            self.kinds.add(kind)
        if kind == "dispatch":
            # A dispatch has no device; an extra "dev" field on it must not turn
            # it into a device event ("extend it only by adding optional fields").
            ds = None
            self._apply_dispatch(ev, t)
        elif kind == "srv_record":
            ds = None
            ctx.any_srv_record = True
        else:
            dev = ev["dev"]  # every other known kind requires "dev"
            ds = self._devices.get(dev)
            if ds is None:
                ds = ctx.device(dev)
            if kind in _STATEFUL:
                self._apply_device(kind, ev, ds, t)
        for h in handlers:
            h(ev, ds)

    def _apply_device(self, kind: str, ev: dict[str, Any], ds: DeviceState, t: float) -> None:
        if kind == "link" or kind == "app":
            if kind == "link":
                ds.prev_link = ds.link
                ds.link = ev["class"]
                ds.online = ds.link != "offline"
            else:
                ds.app = ev["state"]
                running = _RUNNING_APP[ds.app]
                if running and not ds.running:
                    ds.running_since = t
                elif not running:
                    ds.running_since = None
                ds.running = running
            active = ds.online and ds.running
            if active != ds.active:
                ds.active = active
                for h in self._up if active else self._down:
                    h(ds, t)
        elif kind == "sync_start":
            ds.syncs[ev["sync"]] = (t, ev["trigger"])
        elif kind == "sync_end":
            ds.ended = ds.syncs.pop(ev["sync"], None)
            ds.sync_ended_at = t
        elif kind == "edit":
            ds.unsent[ev["change"]] = t
        elif kind == "ack":
            ds.unsent.pop(ev["change"], None)
        elif kind == "srv_apply":
            self.ctx.any_srv_apply = True

    def _apply_dispatch(self, ev: dict[str, Any], t: float) -> None:
        ctx = self.ctx
        ctx.any_dispatch = True
        rs = ctx.records.get(ev["record"])
        if rs is None:
            rs = ctx.records[ev["record"]] = RecordState()
        new = ev["assignee"]
        if new != rs.assignee:
            if rs.assignee is not None:
                rs.ended[rs.assignee] = t
            rs.assignee = new
            rs.since = t

    def feed_all(self, events: Iterable[dict[str, Any]]) -> None:
        feed = self.feed
        for ev in events:
            feed(ev)

    def finish(self) -> list[RuleResult]:
        for r in self.rules:
            r.finish(self.end_t)
        results = [r.result() for r in self.rules]
        if self.ctx.meta.get("source") == "traffic":
            # A traffic trace: an unjudged rule says which source it lacks
            # (bench.rules.observable), not just "no instance".
            from dataclasses import replace

            from bench.rules.base import NA
            from bench.rules.observable import forced_na, traffic_why

            def said(r: RuleResult) -> RuleResult:
                if forced_na(r.id, self.ctx.meta):
                    # It reads what only the app (or only the device's store)
                    # knows: a verdict from the wire would be a guess, and a
                    # pass on an assumed event would hide a failure.
                    return RuleResult(id=r.id, verdict=NA, judged=0,
                                      why=traffic_why(r.id, self.ctx.meta, self.kinds))
                if r.verdict == NA:
                    return replace(r, why=traffic_why(r.id, self.ctx.meta, self.kinds) or r.why)
                return r

            results = [said(r) for r in results]
        return results


def check_events(events: Iterable[dict[str, Any]], policy: Policy, *, meta: dict[str, Any] | None = None,
                 params: dict[str, float] | None = None) -> list[RuleResult]:
    checker = Checker(policy, meta=meta, params=params)
    checker.feed_all(events)
    return checker.finish()


class NoPolicyError(ValueError):
    """A trace checked without a policy whose meta names none."""


def check_trace_file(path: Path, policy: str | None = None, *,
                     also: Sequence[Callable[[dict[str, Any]], Any]] = ()
                     ) -> tuple[str, list[RuleResult], dict[str, Any]]:
    """Check a trace file; returns (policy name, results, meta). Raises TraceError,
    PolicyError, or NoPolicyError when neither ``policy`` nor the meta names one.

    ``also``: callables fed every event of the same single pass (a metrics
    builder, a list's ``append``), so a run reads its trace once.
    """
    from bench.trace import TraceReader

    reader = TraceReader(path)
    events = iter(reader)
    first = next(events, None)
    meta = reader.meta or {}
    name = policy or meta.get("policy")
    if not name:
        raise NoPolicyError(f"{path}: the trace's meta names no policy")
    checker = Checker(get_policy(name), meta=meta)
    if first is not None:
        for ev in itertools.chain((first,), events):
            checker.feed(ev)
            for fn in also:
                fn(ev)
    return name, checker.finish(), meta
