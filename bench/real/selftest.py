"""Real-mode selftest: every client mutant, on a real client, caught by its rule.

Theory of operation: the simulator's selftest (``bench.sim.selftest``) runs
one exercise day per mutant. Real runs cost wall time, so here each policy's
mutants run *side by side* in one real run: one device per mutant plus one
true device, every device following the same scripted day on its own records,
each 1.5 s after the one before (:func:`exercise_day`), each step placed to
give one rule something to judge (the comment names it). The rules report
violations per device, so a mutant is *caught* when its rule has a violation
on its device, and the true device must have none at all. Two runs in all
(Planado, PlayMaker).

The days run at K = 60 on 3G, EDGE, GPRS and offline stretches only (the
profiles the proxy honours at 60). A failed sync -- which ``retry_new_id`` and
``last_sync_on_failure`` need -- is made the way a phone makes one: five
large notes saved offline go up on a GPRS uplink, and the link drops four
spec seconds into that upload.

    table, ok = run_real_selftest()
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reference_client.mutants import MUTANTS

# A note big enough that the five saved offline take some 16 spec seconds on
# GPRS's 20 kbps uplink (spec/links.md), so the link drops (4 s in) mid-upload
# however late the machine applies that step.
BIG_NOTE = "x" * 8000
TRUE = "true"
# Mutants per run: with the true device, a batch fits one event loop
# (bench.real.run.IN_PROCESS_MAX_DEVICES), so a loaded 2-core machine still
# delivers pushes and timers on time (17 devices at once did not, every time).
BATCH = 7
# Each device plays the day this much later than the one before it. Side by
# side on one script, every device would tap, restore and save at the same
# instant: a burst of requests that the capture reads one after another, the
# last some hundreds of milliseconds late on a loaded machine -- seconds at
# K = 10, past a 5 s rule window. Apart, they keep what each step is placed
# for (the steps of one device move together).
STAGGER_S = 1.5


def _planado_device(d: str) -> tuple[list[dict], list[dict]]:
    job, att = f"job-{d}", f"att-{d}"
    steps = [
        {"t": 0, "app": "opened"},                                         # sync_on_open
        {"t": 60, "edit": "status", "record": job, "status": "en_route"},  # sync_on_status, partial_upload
        {"t": 100, "edit": "text", "record": job, "text": "arrived"},      # text_flows
        {"t": 140, "edit": "photo", "record": job, "bytes": 200000},       # unsent_count, fast_files
        {"t": 200, "app": "minimized"},                                    # cadence in the background
        {"t": 500, "app": "restored"},                                     # sync_on_open
        {"t": 520, "manual": "pull"},                                      # core.manual_sync
        {"t": 565, "link": "edge"},                                        # cuts the big download
        {"t": 600, "link": "3g"},                                          # fast_files: it resumes
        {"t": 780, "link": "edge"},                                        # (3G for files_s first)
        {"t": 790, "edit": "photo", "record": job, "bytes": 200000},       # slow_no_files
        {"t": 800, "edit": "text", "record": job, "text": "on edge"},      # text_flows on EDGE
        {"t": 980, "link": "3g"},
        {"t": 1000, "link": "offline"},
        {"t": 1010, "edit": "text", "record": job, "text": BIG_NOTE},      # core.no_loss
        {"t": 1013, "edit": "text", "record": job, "text": BIG_NOTE},
        {"t": 1016, "edit": "status", "record": job, "status": "paused"},
        {"t": 1019, "edit": "text", "record": job, "text": BIG_NOTE},
        {"t": 1022, "edit": "text", "record": job, "text": BIG_NOTE},
        {"t": 1025, "edit": "text", "record": job, "text": BIG_NOTE},
        {"t": 1100, "link": "gprs"},                                       # the notes go up...
        {"t": 1104, "link": "offline"},                                    # ...and the sync fails
        {"t": 1130, "link": "3g"},                                         # retried
        {"t": 1200, "edit": "status", "record": job, "status": "started"},
    ]
    dispatch = [
        {"t": 20, "op": "create", "record": job, "assignee": d, "status": "new"},  # push_sent, push_sync
        {"t": 300, "op": "status", "record": job, "assignee": d, "status": "started"},
        {"t": 540, "op": "attach", "record": job, "assignee": d, "file": att, "bytes": 3000000},
        {"t": 610, "op": "attach", "record": job, "assignee": d, "file": att + "-2",
         "bytes": 200000},                                                  # a download after a cut
        {"t": 1030, "op": "edit", "record": job, "assignee": d},           # a push to an offline phone
        {"t": 1250, "op": "status", "record": job, "assignee": d, "status": "finished"},  # converge
    ]
    return steps, dispatch


def _playmaker_device(d: str) -> tuple[list[dict], list[dict]]:
    acct, acct2 = f"acct-{d}", f"acct2-{d}"
    steps = [
        {"t": 0, "app": "opened"},
        {"t": 40, "edit": "text", "record": f"{d}-r1", "text": "new account"},  # upload_on_save
        {"t": 120, "manual": "pull"},                                       # manual_pulls_all
        {"t": 200, "manual": "pull"},                                       # pulls two changed records
        {"t": 250, "link": "offline"},
        {"t": 270, "edit": "text", "record": f"{d}-r1", "text": "offline"},  # upload_on_reconnect
        {"t": 330, "link": "3g"},
        {"t": 400, "edit": "status", "record": acct, "status": "visited"},
        {"t": 560, "manual": "pull"},
    ]
    dispatch = [
        {"t": 20, "op": "create", "record": acct, "assignee": d},
        {"t": 150, "op": "edit", "record": acct, "assignee": d},
        {"t": 160, "op": "create", "record": acct2, "assignee": d},
        {"t": 300, "op": "edit", "record": acct, "assignee": d},           # a timer pull would see it
        {"t": 420, "op": "edit", "record": acct2, "assignee": d},
    ]
    return steps, dispatch


DAYS = {"planado": (_planado_device, 1300.0), "playmaker": (_playmaker_device, 620.0)}


def device_id(name: str) -> str:
    """A mutant's device id (scenario ids allow no underscore)."""
    return "m-" + name.replace("_", "-")


def exercise_day(policy: str, mutants: list[str]) -> Any:
    """One scenario: a true device and one device per mutant, the same day each."""
    from bench.scenario.parse import parse_scenario

    make, duration = DAYS[policy]
    devices, dispatch = [], []
    for i, name in enumerate([TRUE, *mutants]):
        dev = device_id(name)
        steps, ops = make(dev)
        late = i * STAGGER_S
        steps = [{**s, "t": s["t"] + late} for s in steps]
        ops = [{**o, "t": o["t"] + late} for o in ops]
        entry: dict[str, Any] = {"id": dev, "link": "3g", "timeline": steps}
        if name != TRUE:
            entry["client"] = name
        devices.append(entry)
        dispatch += ops
    dispatch.sort(key=lambda o: o["t"])
    data = {"name": f"real-selftest-{policy}", "policy": policy, "seed": 17,
            "duration": duration, "settle": 240, "settle_link": "3g",
            "devices": devices, "dispatch": dispatch}
    return parse_scenario(data, f"<real-selftest-{policy}>")


def _rows(policy: str, item: Any, mutants: list[str]) -> list[tuple[str, str, bool, str]]:
    by_dev: dict[str, dict[str, int]] = {}
    verdicts = {r.id: r.verdict for r in item.results}
    for r in item.results:
        for v in r.violations:
            by_dev.setdefault(v.dev or "", {}).setdefault(r.id, 0)
            by_dev[v.dev or ""][r.id] += 1
    true_bad = sorted(by_dev.get(device_id(TRUE), {}))
    na = sorted(k for k, v in verdicts.items() if v == "n/a")
    detail = "every rule passes" if not true_bad else "fails " + ", ".join(true_bad)
    if na:
        detail += f" (n/a: {', '.join(na)})"
    rows = [(policy, "all", not true_bad, detail)]
    for name in mutants:
        rule = MUTANTS[name].rule
        got = by_dev.get(device_id(name), {})
        others = sorted(k for k in got if k != rule)
        d = f"{rule}: {'fail' if rule in got else 'not caught'}"
        if others:
            d += f" (also: {', '.join(others)})"
        rows.append((name, rule, rule in got, d))
    return rows


# The day every server mutant plays as a *target* (no server trace merged).
FAULTS_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "real" / "planado-faults.yaml"


def server_mutant_row(name: str | None, *, time_scale: float = 60.0,
                      scenario: Path = FAULTS_SCENARIO, echo: Any = None
                      ) -> tuple[str, str, bool, str]:
    """Run ``scenario`` against the reference server started with ``--mutant name``
    (None: the true server), as a team's own server would be run: black-box, the
    bench's record the only oracle. Caught: its rule fails; the true server: all pass."""
    from bench.real.run import run_real_item
    from bench.scenario import load_scenario
    from reference_server.mutants import SERVER_MUTANTS
    from reference_server.testing import running_server

    sc = load_scenario(scenario)
    with running_server(subprocess=True, mutant=name) as srv:
        item = run_real_item(scenario, sc, None, time_scale=time_scale, target_server=srv.url,
                             target_token=srv.admin_token, echo=echo or (lambda *a: None))
    failed = sorted(r.id for r in item.results if r.verdict == "fail")
    na = sorted(r.id for r in item.results if r.verdict == "n/a")
    if name is None:
        detail = "every rule passes" if not failed else "fails " + ", ".join(failed)
        if na:
            detail += f" (n/a: {', '.join(na)})"
        return ("server:true", "all", not failed and not item.unmet, detail)
    rule = SERVER_MUTANTS[name].rule
    others = [r for r in failed if r != rule]
    d = f"{rule}: {'fail' if rule in failed else 'not caught'}"
    if others:
        d += f" (also: {', '.join(others)})"
    return (f"server:{name}", rule, rule in failed, d)


def run_real_selftest(*, time_scale: float = 60.0, echo: Any = None,
                      servers: bool = True) -> tuple[str, bool]:
    """Run every client mutant for real, and (``servers``) every server mutant as
    a target; returns (table text, every mutant caught and the true ones clean)."""
    from bench.real.run import run_real_item
    from reference_server.mutants import SERVER_MUTANTS

    started = time.perf_counter()
    rows = []
    for policy in DAYS:
        mutants = [n for n, m in MUTANTS.items() if m.base == policy]
        for i in range(0, len(mutants), BATCH):
            batch = mutants[i:i + BATCH]
            sc = exercise_day(policy, batch)
            item = run_real_item(Path(f"<real-selftest-{policy}>"), sc, None,
                                 time_scale=time_scale, echo=echo or (lambda *a: None))
            got = _rows(policy, item, batch)
            rows += got if i == 0 else got[1:]
            if i and not got[0][2]:
                rows[0] = got[0]  # the true device of a later batch failed
    if servers:
        for name in (None, *sorted(SERVER_MUTANTS)):
            rows.append(server_mutant_row(name, time_scale=time_scale, echo=echo))
    ok = all(r[2] for r in rows)
    w = max(len(r[0]) for r in rows)
    lines = [f"real selftest: {sum(r[2] for r in rows)}/{len(rows)} ok "
             f"({time.perf_counter() - started:.0f} s at K={time_scale:g})"]
    for name, _rule, good, detail in rows:
        lines.append(f"  {'OK  ' if good else 'MISS'}  {name:<{w}}  {detail}")
    return "\n".join(lines), ok
