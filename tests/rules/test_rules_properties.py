"""Properties of the whole rule catalogue over random multi-device traces.

Theory of operation: a *story* is one device's history, drawn by hypothesis as
a list of ``(gap, action, choice)`` steps and interpreted by :func:`story` into
valid ``syncbench.trace/1`` events: link changes, app lifecycle, syncs (ok or
failed, overlapping), edits of every kind, acks, pushes, unsent/last_sync
displays (right or wrong), dispatches of the device's own records (attaching
files), server pushes and applies, file transfers, snapshots. Every id embeds
the device name (``d1-c3``, ``d1-r0``), so a device and everything it owns can
be renamed together. Times are sums of multiples of 0.25 s (exact in binary),
and the gaps include the catalogue's boundaries (5, 110, 120, 130, 160 s).

The verdicts are facts about what happened, not about how it was written down:

(a) shifting every time (and every displayed time) by a constant,
(b) renaming devices together with the ids that embed them,
(c) interleaving independent devices' events differently (each device's order
    kept, ``t`` non-decreasing)

change no rule's verdict, violation count or violation times, for both
built-in policies.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.rules import check_events, get_policy
from bench.trace import read_trace
from bench.trace.writer import dumps, event

POLICIES = ("planado", "playmaker")

# Gaps between a device's events (spec seconds). 0 makes ties; the others sit
# on and around the default parameters (respond 5, overpoll 110, interval 120,
# cadence 130, files and text 160) so boundaries get hit.
GAPS = (0, 0, 0.25, 0.5, 1, 1, 2, 4.75, 5, 5.25, 10, 30, 109.75, 110, 120, 130, 130.25, 160, 300)
ACTIONS = (
    "link", "app", "sync_start", "sync_end", "sync_end", "edit", "ack", "push", "unsent",
    "last_sync", "dispatch", "srv_push", "srv_apply", "file_start", "file_end", "manual", "recv",
    "snapshot", "srv_snapshot",
)
LINKS = ("offline", "2g", "gprs", "edge", "3g", "hspa", "lte", "5g", "wifi")
APPS = ("opened", "minimized", "restored", "closed")
TRIGGERS = ("timer", "open", "status", "manual", "push", "save", "link", "retry", "login")
KINDS = ("text", "photo", "status")
OPS = ("create", "assign", "unassign", "status", "edit", "attach")
CHOICES = 9  # choice in 0..8: enough to pick any link class

# How many rules the generated traces must see both pass and fail.
MIN_RULES_BOTH_WAYS = 16

ID_FIELDS = ("dev", "assignee", "change", "record", "sync", "file")

Step = tuple[float, str, int]
steps_st = st.lists(
    st.tuples(st.sampled_from(GAPS), st.sampled_from(ACTIONS), st.integers(0, CHOICES - 1)),
    max_size=40,
)
start_st = st.tuples(st.sampled_from(LINKS), st.sampled_from(APPS))


def story(dev: str, steps: Iterable[Step], start: tuple[str, str] = ("wifi", "opened"),
          other: str | None = None) -> list[dict[str, Any]]:
    """One device's events. With ``other``, some dispatches and server pushes
    involve the other device (a multi-device trace that is not independent)."""
    out: list[dict[str, Any]] = []
    counter = itertools.count(1)
    t = 0.0
    open_syncs: list[str] = []
    sync_t: dict[str, float] = {}
    pending: list[str] = []
    changes: list[tuple[str, str]] = []
    files: list[tuple[str, str]] = []
    moving: list[tuple[str, str]] = []
    last_ok: tuple[float, float] | None = None
    version = 0

    def rec(c: int) -> str:
        return f"{dev}-r{c % 3}"

    def add(ev: str, d: str | None = dev, **fields: Any) -> None:
        out.append(event(ev, t, d, **fields))

    add("link", class_=start[0])
    add("app", state=start[1])
    for gap, action, c in steps:
        t += gap
        k = next(counter)
        if action == "link":
            add("link", class_=LINKS[c])
        elif action == "app":
            add("app", state=APPS[c % 4])
        elif action == "sync_start":
            sid = f"{dev}-s{k}"
            open_syncs.append(sid)
            sync_t[sid] = t
            add("sync_start", sync=sid, trigger=TRIGGERS[c])
        elif action == "sync_end" and open_syncs:
            sid = open_syncs.pop(c % len(open_syncs))
            ok = c % 3 != 0
            if ok:
                last_ok = (sync_t[sid], t)
            add("sync_end", sync=sid, ok=ok, error=None if ok else "timeout")
        elif action == "edit":
            cid = f"{dev}-c{k}"
            kind = KINDS[c % 3]
            pending.append(cid)
            changes.append((cid, rec(c)))
            if kind == "photo":
                files.append((cid, "up"))
            add("edit", change=cid, record=rec(c), kind=kind,
                bytes=500_000 if kind == "photo" else None,
                status="started" if kind == "status" else None)
        elif action == "ack" and pending:
            add("ack", change=pending.pop(c % len(pending)))
        elif action == "push":
            add("push", record=rec(c))
        elif action == "unsent":
            add("unsent", n=len(pending) if c < 5 else c % 4)
        elif action == "last_sync":
            if c == 0:
                at = None
            elif last_ok is not None and c < 6:
                at = last_ok[c % 2] + (0.5 if c == 5 else 0)
            else:
                at = t - c
            add("last_sync", at=at)
        elif action == "dispatch":
            op = OPS[c % 6]
            assignee = None if c % 4 == 3 else (other if other and c == 8 else dev)
            extra: dict[str, Any] = {}
            if op == "attach":
                fid = f"{dev}-f{k}"
                extra = {"file": fid, "bytes": 1000}
                if assignee == dev:
                    files.append((fid, "down"))
            elif op == "status":
                extra = {"status": "en_route"}
            elif op == "edit":
                version += 1
                extra = {"version": version}
            add("dispatch", None, op=op, record=rec(c), assignee=assignee, **extra)
        elif action == "srv_push":
            add("srv_push", other if other and c == 8 else dev, record=rec(c))
        elif action == "srv_apply" and changes:
            cid, r = changes[c % len(changes)]
            version += 1
            add("srv_apply", change=cid, record=r, version=version)
        elif action == "file_start" and files:
            f = files[c % len(files)]
            moving.append(f)
            add("file_start", file=f[0], dir=f[1], bytes=1000)
        elif action == "file_end" and moving:
            f = moving.pop(c % len(moving))
            add("file_end", file=f[0], dir=f[1], ok=c % 3 != 0)
        elif action == "manual":
            add("manual", via="menu")
        elif action == "recv":
            add("recv", record=rec(c), version=c)
        elif action in ("snapshot", "srv_snapshot"):
            add(action, records={rec(i): i + c for i in range(c % 3)})
    return out


def merge(a: list[dict], b: list[dict], ties: Iterable[bool]) -> list[dict]:
    """Interleave two time-ordered streams: the earlier ``t`` first; on equal
    ``t`` the next of ``ties`` chooses (True: ``a`` first). Each stream keeps its order."""
    ties = iter(ties)
    out: list[dict] = []
    i = j = 0
    while i < len(a) or j < len(b):
        if j >= len(b):
            take_a = True
        elif i >= len(a):
            take_a = False
        elif a[i]["t"] != b[j]["t"]:
            take_a = a[i]["t"] < b[j]["t"]
        else:
            take_a = next(ties, True)
        if take_a:
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    return out


def outcome(events: list[dict], meta: dict, policy: str) -> dict[str, tuple]:
    results = check_events(events, get_policy(policy), meta=meta)
    return {
        r.id: (r.verdict, len(r.violations), sorted(v.t for v in r.violations),
               sorted(str(v.dev) for v in r.violations))
        for r in results
    }


def shifted(events: list[dict], c: float) -> list[dict]:
    out = []
    for ev in events:
        ev = dict(ev, t=ev["t"] + c)
        if ev["ev"] == "last_sync" and ev["at"] is not None:
            ev["at"] += c
        out.append(ev)
    return out


def rename_id(value: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        if value == old:
            return new
        if value.startswith(old + "-"):
            return new + value[len(old):]
    return value


def renamed(events: list[dict], names: dict[str, str]) -> list[dict]:
    out = []
    for ev in events:
        ev = dict(ev)
        for f in ID_FIELDS:
            if isinstance(ev.get(f), str):
                ev[f] = rename_id(ev[f], names)
        if "records" in ev:
            ev["records"] = {rename_id(r, names): v for r, v in ev["records"].items()}
        out.append(ev)
    return out


PROPERTY = settings(max_examples=50, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def traces(draw, cross: bool = True) -> tuple[list[dict], dict]:
    """A two-device trace (devices d1 and d2) and its meta."""
    a = story("d1", draw(steps_st), draw(start_st), other="d2" if cross else None)
    b = story("d2", draw(steps_st), draw(start_st), other="d1" if cross else None)
    ties = draw(st.lists(st.booleans(), max_size=80))
    meta = {"ev": "meta", "schema": "syncbench.trace/1", "settled": draw(st.booleans())}
    return merge(a, b, ties), meta


# -- the generator makes valid traces that exercise the rules ------------------------------


@PROPERTY
@given(traces())
def test_generated_traces_are_valid(trace):
    events, meta = trace
    lines = [dumps(meta)] + [dumps(e) for e in events]
    assert read_trace(lines) == events


def random_steps(rng: random.Random, n: int) -> list[Step]:
    return [(rng.choice(GAPS), rng.choice(ACTIONS), rng.randrange(CHOICES)) for _ in range(n)]


def test_generated_traces_reach_every_verdict():
    # The generator is worth something only if rules both pass and fail on it.
    rng = random.Random(7)
    seen: dict[str, set[str]] = {}
    for k in range(60):
        a = story("d1", random_steps(rng, rng.randrange(4, 40)), (rng.choice(LINKS), "opened"), other="d2")
        b = story("d2", random_steps(rng, rng.randrange(4, 40)), (rng.choice(LINKS), "opened"), other="d1")
        events = merge(a, b, ())
        for pol in POLICIES:
            for rid, (verdict, *_rest) in outcome(events, {"settled": bool(k % 2)}, pol).items():
                seen.setdefault(rid, set()).add(verdict)
    both = sorted(rid for rid, v in seen.items() if {"pass", "fail"} <= v)
    assert len(both) >= MIN_RULES_BOTH_WAYS, both


# -- (a) shifting every time ------------------------------------------------------------------


@PROPERTY
@given(traces(), st.sampled_from([0.25, 1, 7.5, 333.75, 86400]))
def test_shifting_time_changes_no_verdict(trace, c):
    events, meta = trace
    moved = shifted(events, c)
    for pol in POLICIES:
        before = outcome(events, meta, pol)
        after = outcome(moved, meta, pol)
        for rid, (verdict, n, ts, devs) in before.items():
            assert after[rid] == (verdict, n, [t + c for t in ts], devs), (pol, rid)


# -- (b) renaming devices ---------------------------------------------------------------------

RENAMES = [
    {"d1": "d2", "d2": "d1"},  # a swap: sorted order of everything flips
    {"d1": "zz-phone", "d2": "aa"},
    {"d1": "tech 7", "d2": "d10"},
]


@PROPERTY
@given(traces(), st.sampled_from(RENAMES))
def test_renaming_devices_changes_no_verdict(trace, names):
    events, meta = trace
    other = renamed(events, names)
    for pol in POLICIES:
        before = outcome(events, meta, pol)
        after = outcome(other, meta, pol)
        for rid, (verdict, n, ts, devs) in before.items():
            want = (verdict, n, ts, sorted(names.get(d, d) for d in devs))
            assert after[rid] == want, (pol, rid)


# -- (c) interleaving independent devices -----------------------------------------------------


@PROPERTY
@given(steps_st, steps_st, start_st, start_st, st.lists(st.booleans(), max_size=80), st.booleans())
def test_interleaving_independent_devices_changes_no_verdict(s1, s2, start1, start2, ties, settled):
    a = story("d1", s1, start1)
    b = story("d2", s2, start2)
    meta = {"settled": settled}
    orders = [merge(a, b, itertools.repeat(True)), merge(a, b, itertools.repeat(False)), merge(a, b, ties)]
    for pol in POLICIES:
        first = outcome(orders[0], meta, pol)
        for events in orders[1:]:
            got = outcome(events, meta, pol)
            for rid in first:
                assert got[rid] == first[rid], (pol, rid)


# -- (d) independent devices are judged alone ---------------------------------------------------

# Rules whose n/a depends on the whole trace ("No dispatch in the trace at all",
# "No srv_apply in the trace", "if the trace has any srv_apply"): one device's
# verdict there may rightly depend on another device's events.
TRACE_WIDE = {"planado.push_scope", "core.scope", "core.exactly_once", "core.no_loss"}


def judged(events: list[dict], meta: dict, policy: str) -> dict[str, tuple[int, list]]:
    return {
        r.id: (r.judged, sorted((v.t, str(v.dev), v.message) for v in r.violations))
        for r in check_events(events, get_policy(policy), meta=meta)
    }


@PROPERTY
@given(steps_st, steps_st, start_st, start_st, st.lists(st.booleans(), max_size=80), st.booleans())
def test_independent_devices_are_judged_as_if_alone(s1, s2, start1, start2, ties, settled):
    a = story("d1", s1, start1)
    b = story("d2", s2, start2)
    both = merge(a, b, ties)
    # Pad each device's own trace to the same end, with an event that concerns
    # no rule, so no window is cut differently by the end of the trace.
    pad = [event("link", both[-1]["t"], "zz", class_="offline")]
    meta = {"settled": settled}
    for pol in POLICIES:
        got = judged(both + pad, meta, pol)
        alone_a = judged(a + pad, meta, pol)
        alone_b = judged(b + pad, meta, pol)
        for rid, (n, violations) in got.items():
            if rid in TRACE_WIDE:
                continue
            assert n == alone_a[rid][0] + alone_b[rid][0], (pol, rid)
            assert violations == sorted(alone_a[rid][1] + alone_b[rid][1]), (pol, rid)


# -- every verdict is well formed ---------------------------------------------------------------


@PROPERTY
@given(traces())
def test_verdicts_are_well_formed(trace):
    events, meta = trace
    end = events[-1]["t"]
    devices = {e["dev"] for e in events if "dev" in e} | {e["assignee"] for e in events if e.get("assignee")}
    for pol in POLICIES:
        results = check_events(events, get_policy(pol), meta=meta)
        assert [r.id for r in results] == list(get_policy(pol).rules)
        for r in results:
            want = "fail" if r.violations else "pass" if r.judged else "n/a"
            assert r.verdict == want, r.id
            assert r.judged >= len(r.violations), r.id
            for v in r.violations:
                assert 0 <= v.t <= end and v.dev in devices and v.message, (r.id, v)
