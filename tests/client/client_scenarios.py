"""Scripted days for the engine tests: one device, the harness, the rule checker.

Shared by test_engine_rules.py and test_mutants.py (imported by basename: tests
directories have no __init__.py).
"""

from __future__ import annotations

import random
from typing import Any

from bench.testing.harness import ScriptedHarness
from reference_client.engine import Engine
from reference_client.policies import Policy

SEED = 7
PHOTO_BYTES = 3_000_000  # ~73 s up on 3g (330 kbps): long enough to be cut by a link change
SETTLE_FROM = 1700.0
END = 2200.0


def planado_day(policy: Policy, *, seed: int = SEED) -> ScriptedHarness:
    """A field day touching every Planado rule a device can break."""
    h = ScriptedHarness(Engine(device="w1", policy=policy, rng=random.Random(seed)))
    h.link(0, "lte").app(0, "opened")
    h.dispatch(5, "create", "job-1", "w1")
    h.dispatch(6, "create", "job-2", "w1")
    h.edit(30, "job-1", "status", status="en_route")
    h.edit(31, "job-1", "text")
    h.link(40, "3g")
    h.edit(45, "job-1", "photo", bytes=PHOTO_BYTES)
    h.dispatch(50, "attach", "job-2", "w1", file="f-manual", bytes=PHOTO_BYTES)
    h.link(60, "edge")  # the photo upload is cut, no file moves on edge
    h.edit(70, "job-2", "text")
    h.edit(75, "job-2", "status", status="started")
    h.app(100, "minimized")
    h.dispatch(200, "status", "job-1", "w1", status="paused")  # push while in background
    h.link(300, "wifi")
    h.manual(320)
    h.app(560, "restored")  # 240 s in background: the timer must run
    h.outage(500, 530)  # failed syncs, retried
    h.edit(505, "job-2", "text")
    h.link(600, "offline")
    h.edit(620, "job-1", "text")
    h.edit(630, "job-2", "photo", bytes=PHOTO_BYTES)
    h.link(700, "gprs")
    h.dispatch(710, "edit", "job-2", "w1")
    h.lose_responses(800, 801)  # applied, answer lost: the retry re-sends the same ids
    h.edit(799, "job-1", "status", status="finished")
    h.link(900, "3g")
    h.dispatch(905, "attach", "job-1", "w1", file="f-plan", bytes=PHOTO_BYTES)
    h.link(930, "edge")  # cuts the transfer in progress
    h.app(1000, "closed")
    h.dispatch(1100, "create", "job-3", "w1")
    h.app(1200, "opened")
    h.dispatch(1250, "attach", "job-3", "w1", file="f-big", bytes=10 * PHOTO_BYTES)
    h.link(1300, "lte")
    h.link(1310, "edge")  # cuts the f-big download (20 s on lte)
    h.link(1315, "lte")  # a long fast stretch from here: files must move
    h.edit(1316, "job-3", "photo", bytes=PHOTO_BYTES)
    h.dispatch(1320, "attach", "job-3", "w1", file="f-late", bytes=PHOTO_BYTES)
    h.manual(1400)
    h.link(SETTLE_FROM, "wifi")
    h.snapshot(END)
    h.run(END)
    return h


def playmaker_day(policy: Policy, *, seed: int = SEED) -> ScriptedHarness:
    """A day of a field-sales rep: saves online and offline, manual pulls."""
    h = ScriptedHarness(Engine(device="w1", policy=policy, rng=random.Random(seed)))
    h.link(0, "lte").app(0, "opened")
    h.dispatch(5, "create", "acct-1", "w1")
    h.dispatch(6, "create", "acct-2", "w1")
    h.edit(20, "w1-r1", "text")  # a record created on the device
    h.edit(20.5, "w1-r1", "status", status="visited")  # during the first upload
    h.manual(60)
    h.dispatch(100, "edit", "acct-1", "w1")
    h.dispatch(101, "create", "acct-3", "w1")
    h.dispatch(102, "create", "acct-4", "w1")
    h.edit(150, "acct-2", "text")
    h.link(200, "offline")
    h.edit(220, "acct-1", "text")
    h.edit(230, "w1-r2", "text")
    h.link(300, "edge")
    h.manual(400)
    h.dispatch(450, "status", "acct-3", "w1", status="won")
    h.app(500, "minimized")
    h.app(600, "restored")
    h.edit(610, "acct-3", "photo", bytes=200_000)
    h.manual(700)
    h.link(800, "wifi")
    h.manual(900)
    h.snapshot(1000)
    h.run(1000)
    return h


def check(h: ScriptedHarness, base: str, *, settled: bool = True) -> dict[str, Any]:
    """Run the bench's rule checker on the harness trace: ``{rule id: result}``."""
    from bench.rules import check_events, get_policy

    meta = {"ev": "meta", "schema": "syncbench.trace/1", "policy": base, "settled": settled}
    results = check_events(h.trace, get_policy(base), meta=meta)
    return {r.id: r for r in results}


def harness(policy: Policy, *, seed: int = SEED, link: str = "lte",
            start_app: bool = True) -> ScriptedHarness:
    """A device on ``link`` with the app opened at t=0 (not yet run)."""
    h = ScriptedHarness(Engine(device="w1", policy=policy, rng=random.Random(seed)))
    h.link(0, link)
    if start_app:
        h.app(0, "opened")
    return h


def starts(h: ScriptedHarness, trigger: str | None = None) -> list[dict[str, Any]]:
    return [e for e in h.events("sync_start") if trigger is None or e["trigger"] == trigger]


def sync_requests(h: ScriptedHarness) -> dict[str, Any]:
    """Every StartSync action by sync id."""
    from reference_client.engine.actions import StartSync

    return {a.sync: a for _, a in h.actions if isinstance(a, StartSync)}


RANDOM_LINKS = ("offline", "2g", "gprs", "edge", "3g", "hspa", "lte", "5g", "wifi")
RANDOM_DAY_S = 1500.0
RANDOM_SETTLE_S = 600.0


def random_day(policy: Policy, seed: int) -> ScriptedHarness:
    """A random day of link changes, app changes, edits, manual syncs, dispatcher
    operations and lost answers, then a settle window on Wi-Fi. Kept inside what
    a correct device can satisfy: photos are small under PlayMaker (its 30 s
    save_ack_s leaves no room for megabytes on GPRS), the dispatcher never moves
    a job with attachments away (rules.md planado.fast_files judges an
    attachment of a job whatever becomes of the job), and the server is never down.
    """
    r = random.Random(seed)
    h = ScriptedHarness(Engine(device="w1", policy=policy, rng=random.Random(seed)))
    h.link(0, r.choice(RANDOM_LINKS)).app(0, "opened")
    h.dispatch(1, "create", "job-1", "w1")
    mine, n, t = ["job-1"], 0, 0.0
    photo_sizes = (5_000,) if policy.base == "playmaker" else (50_000, 500_000, 3_000_000)
    while t < RANDOM_DAY_S:
        t = round(t + r.expovariate(1 / 15), 3)
        n += 1
        k = r.random()
        if k < 0.15:
            h.link(t, r.choice(RANDOM_LINKS))
        elif k < 0.25:
            h.app(t, r.choice(("opened", "minimized", "restored", "closed")))
        elif k < 0.5:
            rec = r.choice([*mine, f"w1-r{n}"])
            if rec not in mine:
                mine.append(rec)
            kind = r.choice(("text", "status", "photo"))
            if kind == "photo":
                h.edit(t, rec, kind, bytes=r.choice(photo_sizes))
            elif kind == "status":
                h.edit(t, rec, kind, status=r.choice(("started", "paused", "finished")))
            else:
                h.edit(t, rec, kind)
        elif k < 0.6:
            h.manual(t)
        elif k < 0.7:
            rec = r.choice(("job-1", "job-2", "job-3"))
            op = r.choice(("create", "status", "edit", "attach"))
            h.dispatch(t, op, rec, "w1", status="paused" if op == "status" else None,
                       file=f"f{n}" if op == "attach" else None,
                       bytes=r.choice((10_000, 2_000_000)) if op == "attach" else None)
        elif k < 0.8:
            rec, who = r.choice(("job-5", "job-6")), r.choice(("w1", "w2", None))
            h.dispatch(t, "unassign" if who is None else "assign", rec, who)
        elif k < 0.85:
            h.lose_responses(t, t + r.uniform(0.5, 5))
    settle = RANDOM_DAY_S + 100
    h.link(settle, "wifi").app(settle, "opened")
    if policy.base == "playmaker":
        h.manual(settle + RANDOM_SETTLE_S / 2)  # PlayMaker sees the web only after a manual sync
    h.snapshot(settle + RANDOM_SETTLE_S)
    h.run(settle + RANDOM_SETTLE_S)
    return h
