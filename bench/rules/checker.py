"""The one-pass rule checker.

Theory of operation::

    events --> Checker.feed(ev) --+--> fire deadlines < ev.t         (Context clock)
                                  +--> step[kind](ev, t), one function per kind:
                                         apply ev to Context          (derived state)
                                         on_up / on_down hooks        (online & running changed)
                                         sync waiters of the device   (sync_start / sync_end only)
                                         rule.on_<kind>(ev, ds)       (only rules that handle the kind)
               Checker.finish()  -----> rule.finish(end_t) -> RuleResult per rule

Every rule of a policy runs in the same pass, so the simulator can feed the
same checker event by event while it runs ("the same rule monitors as
``syncbench check``, fed as events happen"). Unknown event kinds are passed
over without advancing the clock: "The end of the trace is the t of its last
event of a known kind."

Why per-kind steps: ``feed`` is the hot path of both ``syncbench check`` and
the fleet simulator, so it does only what every event needs (clock, counters)
and hands the event to one function compiled for its kind, which applies
exactly that kind's derived state and calls that kind's handlers one after
the other, with no per-event branching on the kind and no handler loop. Rules
waiting for a device's next sync (respond(), bench.rules.respond) subscribe
that device (``DeviceState.sync_waiters``) instead of handling every sync of
every device. The rules every sync reaches keep their per-device state on the
device's state (``DeviceState.own``, a place per rule from
``Context.own_slot``), where the step has already looked the device up,
rather than in a dict per rule keyed by device: in a fleet of thousands each
such lookup is a miss in a large table.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bench.collector import held
from bench.rules.base import REGISTRY, Rule, RuleResult
from bench.rules.policies import Policy, get_policy
from bench.rules.state import Context, DeviceState, RecordState
from bench.trace.schema import EVENTS, NO_DEVICE_KINDS

_RUNNING_APP = {"opened": True, "restored": True, "minimized": True, "closed": False}

# The collector's full passes during a batch check: at least this many
# collections of the middle generation apart (CPython's default is 10).
FULL_GC_EVERY = 1000

# The derived state each kind changes (trace.md, "Derived state the rules
# use"), as statements run before the kind's handlers; ``ds`` is the device.
_STATE: dict[str, str] = {
    "link": "link_changed(ds, ev['class'], t)",
    "app": "app_changed(ds, ev['state'], t)",
    "sync_start": "ds.syncs[ev['sync']] = (t, ev['trigger'])\n"
                  "    if ds.sync_waiters: sync_waiters(ds, ev, True)",
    "sync_end": "ds.ended = ds.syncs.pop(ev['sync'], None)\n"
                "    ds.sync_ended_at = t\n"
                "    if ds.sync_waiters: sync_waiters(ds, ev, False)",
    "edit": "ds.unsent[ev['change']] = t",
    "ack": "ds.unsent.pop(ev['change'], None)",
    "srv_apply": "ctx.any_srv_apply = True",
    # A dispatch has no device; an extra "dev" field on it must not turn it
    # into a device event ("extend it only by adding optional fields").
    "dispatch": "apply_dispatch(ev, t)",
    "srv_record": "ctx.any_srv_record = True",
}


def _sync_waiters(ds: DeviceState, ev: dict[str, Any], start: bool) -> None:
    """Hand a sync_start/sync_end to the rules waiting on this device's syncs.

    A waiter stays subscribed while it has something pending on the device;
    it unsubscribes itself (``sync_waiters.remove``) when it has not.
    """
    for w in tuple(ds.sync_waiters):
        if start:
            w.sync_start(ev, ds)
        else:
            w.sync_end(ev, ds)


class Checker:
    def __init__(self, policy: Policy, *, meta: dict[str, Any] | None = None, params: dict[str, float] | None = None) -> None:
        self.policy = policy
        self.ctx = Context(meta)
        values = policy.resolve_params(meta_params=(meta or {}).get("params"), overrides=params)
        self.params = values
        self.rules: list[Rule] = [REGISTRY[rid](self.ctx, values) for rid in policy.rules]
        self._up = [r.on_up for r in self.rules if hasattr(r, "on_up")]
        self._down = [r.on_down for r in self.rules if hasattr(r, "on_down")]
        self.end_t: float | None = None
        self.events = 0
        self.kinds: set[str] = set()  # known kinds seen (for "nothing to judge" messages)
        self._steps: dict[str, Callable[[dict[str, Any], float], None]] = {
            kind: self._first(kind, self._compile(kind)) for kind in EVENTS}

    def _first(self, kind: str, step: Callable[[dict[str, Any], float], None]) -> Callable[[dict[str, Any], float], None]:
        """The step of a kind not seen yet: it notes the kind in ``kinds``, then
        stands aside for ``step`` (so no event pays for ``kinds`` after the first)."""
        def first(ev: dict[str, Any], t: float) -> None:
            self.kinds.add(kind)
            self._steps[kind] = step
            step(ev, t)
        return first

    def _compile(self, kind: str) -> Callable[[dict[str, Any], float], None]:
        """The step of one kind: its derived state, then its handlers in rule order."""
        handlers = [getattr(r, f"on_{kind}") for r in self.rules if hasattr(r, f"on_{kind}")]
        ctx = self.ctx
        env: dict[str, Any] = {
            "ctx": ctx, "devices": ctx.devices, "new_device": ctx.device,
            "link_changed": self._link_changed, "app_changed": self._app_changed,
            "apply_dispatch": self._apply_dispatch, "sync_waiters": _sync_waiters,
        }
        lines = []
        if kind in NO_DEVICE_KINDS:
            lines.append("ds = None")
        else:  # every other known kind requires "dev"
            lines += ["try:", "    ds = devices[ev['dev']]", "except KeyError:", "    ds = new_device(ev['dev'])"]
        if kind in _STATE:
            lines.append(_STATE[kind])
        for i, h in enumerate(handlers):
            env[f"h{i}"] = h
            lines.append(f"h{i}(ev, ds)")
        src = "def step(ev, t):\n    " + "\n    ".join(lines or ["pass"]) + "\n"
        exec(compile(src, f"<checker step {kind}>", "exec"), env)  # noqa: S102 - source built above
        return env["step"]

    def feed(self, ev: dict[str, Any]) -> None:
        kind = ev["ev"]
        step = self._steps.get(kind)
        if step is None:
            return  # unknown kind (or meta): ignored
        t = ev["t"]
        ctx = self.ctx
        if t > ctx.now:
            heap = ctx._heap
            if ctx.instant_end or ctx._fresh or (heap and heap[0][0] < t):
                ctx.fire_before(t)
            ctx.now = t
        self.end_t = t
        self.events += 1
        step(ev, t)

    def _link_changed(self, ds: DeviceState, cls: str, t: float) -> None:
        ds.prev_link = ds.link
        ds.link = cls
        ds.online = cls != "offline"
        self._active(ds, t)

    def _app_changed(self, ds: DeviceState, state: str, t: float) -> None:
        ds.app = state
        running = _RUNNING_APP[state]
        if running and not ds.running:
            ds.running_since = t
        elif not running:
            ds.running_since = None
        ds.running = running
        self._active(ds, t)

    def _active(self, ds: DeviceState, t: float) -> None:
        active = ds.online and ds.running
        if active != ds.active:
            ds.active = active
            for h in self._up if active else self._down:
                h(ds, t)

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
        """Feed every event of ``events`` (``feed`` inlined: the loop of ``syncbench check``).

        The check's state grows with devices, records and the writes
        core.no_loss keeps for the server's read-back, and it forms no
        reference cycles; yet the collector's full passes walk all of it again
        each time it grows by a quarter: up to a fifth of a long check (measured
        on benchmarks/check_throughput.py, playmaker). Full passes
        are held back for the batch (the young generations still run, so
        cyclic garbage of the caller's own is still freed) and the threshold
        is restored after.
        """
        with held(full=FULL_GC_EVERY):
            self._feed_all(events)

    def feed_many(self, events: Iterable[dict[str, Any]]) -> None:
        """``feed`` each of ``events``, leaving the collector alone: for a caller that
        feeds a run in batches and keeps the collector as it needs (the simulator)."""
        self._feed_all(events)

    def _feed_all(self, events: Iterable[dict[str, Any]]) -> None:
        steps = self._steps
        ctx = self.ctx
        # The clock's lists, read here without a call per instant (the same
        # objects for the checker's life: Context.fire_before empties them in place).
        heap, fresh, settle = ctx._heap, ctx._fresh, ctx.instant_end
        fire_before = ctx.fire_before
        n = 0
        end_t = self.end_t
        now = ctx.now
        try:
            for ev in events:
                step = steps.get(ev["ev"])
                if step is None:
                    continue
                t = ev["t"]
                if t > now:
                    if settle or fresh or (heap and heap[0][0] < t):
                        fire_before(t)
                    ctx.now = now = t
                end_t = t
                n += 1
                step(ev, t)
        finally:
            self.events += n
            self.end_t = end_t

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
        if also:
            for ev in itertools.chain((first,), events):
                checker.feed(ev)
                for fn in also:
                    fn(ev)
        else:
            checker.feed(first)
            checker.feed_all(events)
    return name, checker.finish(), meta
