"""``run_real_item``: play one scenario file with real processes on loopback.

Theory of operation::

    plan (devices, link timelines; refuse K)          bench.real.plan
      │
    reference server  ── subprocess, port 0, temporary database, trace on, log to a file
      │   (or a team's own server: --target-server URL --target-token ADMIN)
    link proxy server ── ours in a subprocess, or TOXIPROXY_URL (bench.real.proxyproc)
      │   one proxy per device in front of the server (HTTP and push WebSocket)
    provision         ── one user + device per scenario device, a dispatcher
      │
    t0 = now ──> device groups (in this process, or worker processes)   bench.real.devices
             ──> dispatcher: explicit steps + random work via web API   bench.real.web
      │  [0, duration): play;  [duration, +settle): fast links, running, pull, snapshot
    srv_snapshot (POST /v1/web/snapshot) ──> merge client + server traces, one meta line
      │
    check rules ──> drift ──> report (write_check_report) ──> ItemResult

The server is started before ``t0`` is known, so its trace epoch is the wall
time it started at; its events are shifted by ``(server_epoch - t0) * K`` in
the merge (nothing on the server is traced before ``t0``: provisioning writes no
trace events). Everything started is stopped in ``finally`` blocks, in reverse
order -- also on Ctrl-C and on failure -- so no process and no port outlives the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.real import drift as drift_mod
from bench.real.devices import GroupPlan, GroupResult, play_group, warm_up
from bench.real.plan import DevicePlan, RealRunError, check_scale, plan_devices
from bench.real.scale import AUTO, Scale, choose_scale
from bench.real.serverproc import scratch_dir
from bench.real.steady import steady_gc
from bench.real.watch import Watch
from bench.real.web import Dispatcher
from bench.report.metrics import MetricsBuilder
from bench.rules.expect import ItemResult
from bench.rules.expect import unmet as unmet_expectations
from bench.scenario import settle
from bench.scenario.model import Scenario

# The largest K a reference client accepts (reference_client.client.config.MAX_TIME_SCALE).
MAX_TIME_SCALE = 600.0
# Devices one event loop carries before the run spreads them over worker
# processes: a handful of clients plus the proxy thread fit one core.
IN_PROCESS_MAX_DEVICES = 8
# The largest fleet a real run takes: benchmarks/real_fleet.py keeps 50
# devices within the drift tolerance on a 2-core machine at the K the runner
# lowers to; past 100 the clients' start-up alone (a SQLite store each) takes
# longer than the server's setup timeout allows.
MAX_REAL_DEVICES = 100
# Wall seconds between choosing the run's epoch t0 (once every client is open)
# and t0 itself, for the groups to schedule their first steps.
START_LEAD_S = 0.2
# How long provisioning and start-up requests may take on a loaded machine.
SETUP_TIMEOUT_S = 30.0
# How often a playing run looks for a dead server or proxy (wall seconds): a
# death cuts the run short within this, instead of playing on against nothing.
WATCH_POLL_S = 0.1
# The toxics that play the scenario's server faults on every device's proxy.
LOST_TOXIC = "fault_lose_reply"
OUTAGE_TOXICS = ("fault_outage_up", "fault_outage_down")


def _role(policy: str) -> str:
    # docs/protocol.md: "worker (Planado field worker), sales (PlayMaker sales rep)".
    return "sales" if policy == "playmaker" else "worker"


def _not_emulated(sc: Scenario) -> list[str]:
    """Scenario keys real mode plays differently (docs/real.md "What real mode does not emulate")."""
    notes = []
    srv = sc.server
    if srv.mutant or sc.push.mutant:
        notes.append("the simulator's server and push mutants (real mode: serve --mutant)")
    if srv.outages:
        notes.append("server outages reset every connection at the proxy (no HTTP 503)")
    notes.append("server service times and push delays are the real server's")
    if not sc.push.enabled:
        notes.append("push.enabled: false (the reference server always pushes)")
    return notes


def _split(devices: list[DevicePlan], n: int) -> list[list[DevicePlan]]:
    return [devices[i::n] for i in range(n) if devices[i::n]]


def preflight(path: Path, scenario: Scenario, time_scale: float | str | None = None,
              target_server: str | None = None, target_token: str | None = None,
              ) -> tuple[list[DevicePlan], float | str | None]:
    """What a real run checks before it starts anything: its devices and the
    K asked for (a number, or None / ``"auto"``); :class:`RealRunError` names
    what is wrong. A suite runs it for every item before the first plays."""
    # --time-scale, else the scenario's own K should its format grow one, else auto.
    asked = time_scale if time_scale is not None else getattr(scenario, "time_scale", None)
    if asked is not None and asked != AUTO:
        asked = float(asked)
        if not (math.isfinite(asked) and 0 < asked <= MAX_TIME_SCALE):
            raise RealRunError(f"{path}: --time-scale must be 'auto' or in (0, {MAX_TIME_SCALE:g}], "
                               f"got {asked:g}")
    if (target_server is None) != (target_token is None):
        raise RealRunError(f"{path}: --target-server and --target-token go together")
    devices = plan_devices(scenario)
    if not devices:
        raise RealRunError(f"{path}: the scenario has no devices")
    if len(devices) > MAX_REAL_DEVICES:
        raise RealRunError(f"{path}: {len(devices)} devices; a real run carries at most "
                           f"{MAX_REAL_DEVICES} on this bench (simulate larger fleets: --mode sim)")
    if asked is not None and asked != AUTO:
        check_scale(devices, asked, str(path))
    return devices, asked


def run_real_item(path: Path | str, scenario: Scenario, out_root: Path | None, *,
                  time_scale: float | str | None = None, target_server: str | None = None,
                  target_token: str | None = None, workers: int | None = None,
                  echo: Any = None, capture: bool = False) -> ItemResult:
    """Play ``scenario`` for real and check it; see the module docs and docs/real.md.

    ``time_scale``: K, or None / ``"auto"`` (the default) for the largest K
    this machine honours for the scenario's profiles (``bench.real.scale``);
    a K some profile cannot run at raises :class:`RealRunError`. ``target_server``/``target_token``: run the
    devices against a team's own server (its admin token provisions devices and
    a dispatcher); the server side of the trace is then absent. ``workers``:
    device worker processes, 0 for all devices in this process (default: 0 up
    to :data:`IN_PROCESS_MAX_DEVICES` devices, else one per core). ``echo``: gets
    the one-line drift summary (default: stderr). ``capture``: every device
    talks through the capture proxy (bench.capture); the run also judges the
    traffic-derived traces and compares them with the devices' own
    (``extra["capture"]``, ``traffic.jsonl`` in the report folder).
    """
    started = time.perf_counter()
    echo = echo or _stderr
    path = Path(path)
    devices, asked = preflight(path, scenario, time_scale, target_server, target_token)
    scale = choose_scale(devices, asked, str(path))
    k = scale.k
    check_scale(devices, k, str(path), scale.base_rtt_ms)
    echo(f"{scenario.name}: time scale K={k:g} ({'auto: ' if scale.auto else ''}{scale.why})")
    n_proc = workers if workers is not None else (
        0 if len(devices) <= IN_PROCESS_MAX_DEVICES else max(1, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="syncbench-real-", dir=scratch_dir()) as tmp:
        out_dir = out_root / f"{scenario.name}-real" if out_root is not None else None
        trace = (out_dir or Path(tmp)) / "trace.jsonl"
        trace.parent.mkdir(parents=True, exist_ok=True)
        watch = Watch()
        try:
            facts, links = _run(scenario, devices, scale, Path(tmp), trace, n_proc,
                                target_server, target_token, watch, capture)
        except BaseException:
            _raise_if_died(watch, path, k, out_dir)
            raise
        _raise_if_died(watch, path, k, out_dir)
        # One pass over the merged trace: the rules, the drift samples and the
        # metrics all take their events from it.
        events: list[dict[str, Any]] = []
        builder = MetricsBuilder()
        results, meta = _check(trace, scenario, also=(events.append, builder.feed))
        metrics = builder.result()
        if capture:
            facts["capture"] = cap = _capture_check(events, meta, scenario,
                                                    facts.pop("capture_run"), out_dir)
            if cap["agree"]:
                echo(f"{scenario.name}: capture: {cap['flows']} flows; the traffic's verdicts "
                     "equal the devices' own on every rule the traffic can judge")
            for d in cap["disagreements"][:10]:
                echo(f"{scenario.name}: capture: {d['tier']} tier, {d['rule']} on "
                     f"{d['dev'] or 'the run'}: own {d['own']}, traffic {d['traffic']} "
                     f"({d['traffic_says'] or d['own_says']})")
        found = drift_mod.samples(events, links, k, scenario.duration_s)
        drift = drift_mod.summarize(found)
        wall = time.perf_counter() - started
        extra = {"mode": "real", "time_scale": k, "scale": scale.facts(),
                 "wall_s": round(wall, 2), "drift": drift,
                 "devices": len(devices), "processes": max(1, n_proc),
                 "server": "target" if target_server else "reference",
                 "not_emulated": _not_emulated(scenario), **facts}
        if drift["n"] and not drift["kept_up"]:
            echo(f"warning: {scenario.name}: the machine did not keep up at K={k:g}: worst transfer "
                 f"drift {drift['worst']:+.0%} over {drift['n']} transfers (tolerance "
                 f"{drift['tolerance']:.0%}); try a smaller --time-scale")
        elif drift["n"]:
            echo(f"{scenario.name}: K={k:g}, worst transfer drift {drift['worst']:+.0%} over "
                 f"{drift['n']} transfers (within {drift['tolerance']:.0%})")
        else:
            echo(f"{scenario.name}: K={k:g}, no file transfer large enough to measure drift")
        if target_server is not None:
            # "an unjudged rule says why": a server rule left n/a against a target
            # (an endpoint it lacks, a push it sends another way) is said at once.
            from bench.rules import REGISTRY

            for r in results:
                if r.verdict == "n/a" and getattr(REGISTRY.get(r.id), "needs_server_trace", None) is False:
                    echo(f"notice: {scenario.name}: {r.id} not judged: {r.why}")
        report_dir = None
        if out_dir is not None:
            from bench.report.write import write_check_report as write_item_report

            log = Path(tmp) / "server.log"
            if log.exists() and log.stat().st_size:
                shutil.copyfile(log, out_dir / "server.log")
            report_dir = write_item_report(out_dir, trace, scenario.policy, results, meta,
                                           scenario={"name": scenario.name, "source": str(path)},
                                           extra=extra, metrics=metrics)
        extra["metrics"] = metrics
        unmet = unmet_expectations(results, dict(scenario.expect))
        unmet += tuple(f"run: {e}" for e in facts.get("errors", ())[:5])
    return ItemResult(name=path.name, kind="real", policy=scenario.policy, results=tuple(results),
                      expect=dict(scenario.expect), unmet=unmet, report_dir=report_dir,
                      seconds=time.perf_counter() - started, extra=extra)


def _raise_if_died(watch: Watch, path: Path, k: float, out_dir: Path | None) -> None:
    """One line naming the child that died, when, and its log (kept past the scratch folder)."""
    death = watch.death()
    if death is None:
        return
    log = None
    if death.log is not None and death.log.exists():
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            log = out_dir / death.log.name
        else:
            fd, name = tempfile.mkstemp(prefix=f"syncbench-{death.log.stem}-", suffix=".log")
            os.close(fd)
            log = Path(name)
        shutil.copyfile(death.log, log)
    raise RealRunError(f"{path}: {death.line(t0=watch.t0, k=k, log=log)}") from None


def _stderr(*args: Any) -> None:
    import sys

    print(*args, file=sys.stderr, flush=True)


def _check(trace: Path, sc: Scenario, also: Any = ()) -> tuple[list, dict]:
    from bench.rules import PolicyError
    from bench.rules.checker import check_trace_file
    from bench.trace import TraceError

    try:
        _policy, results, meta = check_trace_file(trace, sc.policy, also=also)
    except (TraceError, PolicyError) as exc:
        raise RealRunError(f"{sc.source}: the real run's merged trace is invalid: {exc}") from None
    return results, meta


def _capture_check(events: list[dict], meta: dict, sc: Scenario, run: dict[str, Any],
                   out_dir: Path | None) -> dict[str, Any]:
    """The traffic-derived traces of a captured run, judged and compared (bench.capture.agree)."""
    from bench.capture.agree import compare, tier_traces
    from bench.capture.har import read_exchanges
    from bench.trace.writer import write_trace

    folder = Path(run["dir"])
    flows = folder / "flows.jsonl"
    xs = read_exchanges(flows) if flows.exists() else []
    own = [meta, *events]
    tiers = tier_traces(events, xs, policy=sc.policy, epoch=meta["epoch"],
                        k=meta.get("time_scale") or 1.0, listeners=run["listeners"],
                        settled=bool(meta.get("settled")))
    devices = sorted(set(run["listeners"].values()))
    disagree = compare(own, tiers, sc.policy)
    if out_dir is not None:
        write_trace(out_dir / "traffic.jsonl", tiers["server"])
        for name in ("flows.jsonl", "capture.har", "mitmproxy.har"):
            if (folder / name).exists():
                shutil.copyfile(folder / name, out_dir / name)
    return {"flows": len(xs), "devices": devices, "disagreements": disagree,
            "agree": not disagree}


def _run(sc: Scenario, devices: list[DevicePlan], scale: Scale, tmp: Path, trace: Path,
         n_proc: int, target_server: str | None, target_token: str | None, watch: Watch,
         capture: bool = False) -> tuple[dict[str, Any], dict[str, tuple]]:
    from bench.link.client import LinkClient
    from bench.real.merge import write_merged
    from bench.real.proxyproc import link_proxy
    from bench.real.serverproc import reference_server

    tag = secrets.token_hex(3)
    k = scale.k
    with contextlib.ExitStack() as stack:
        if target_server is None:
            server_trace = tmp / "server.jsonl"
            server_epoch = time.time()
            srv = stack.enter_context(reference_server(
                folder=tmp, trace=server_trace, trace_epoch=server_epoch, time_scale=k,
                log=tmp / "server.log", watch=watch))
            url, admin = srv.url, srv.admin_token
            ids = {d.id: d.id for d in devices}
        else:
            server_trace, server_epoch = None, 0.0
            url, admin = target_server.rstrip("/"), target_token
            # A team's server keeps its users: a run tag keeps device ids fresh.
            ids = {d.id: f"{d.id}.{tag}" for d in devices}
        tokens, dispatcher_token = _provision(url, admin, devices, ids, sc.policy, tag)
        endpoint = stack.enter_context(link_proxy(sc.seed, log=tmp / "proxy.log", watch=watch))
        link_api = stack.enter_context(LinkClient(endpoint.url))
        upstream = urlsplit(url).netloc
        urls: dict[str, str] = {}
        names = {d.id: f"sb-{tag}-{d.id}" for d in devices}
        for d in devices:
            listen = link_api.create_proxy(names[d.id], upstream)["listen"]
            stack.callback(_quietly, link_api.delete_proxy, names[d.id])
            urls[d.id] = f"http://{listen}"
        cap = None
        if capture:
            from bench.real.captureproc import capture_process

            # Device -> capture listener -> its own link proxy -> server.
            cap = stack.enter_context(capture_process(
                url, [urls[d.id].removeprefix("http://") for d in devices], tmp / "capture", k=k,
                log=tmp / "capture.log", watch=watch))
            listeners = {}
            for d, addr in zip(devices, cap.addresses, strict=True):
                urls[d.id] = f"http://{addr}"
                listeners[int(addr.rsplit(":", 1)[1])] = ids[d.id]
            # One request through each listener before t = 0: mitmproxy's first
            # flow costs ~0.1 s of code paths, 6 spec seconds at K = 60.
            for u in urls.values():
                with contextlib.suppress(httpx.HTTPError):
                    httpx.get(f"{u}/v1/health", timeout=SETUP_TIMEOUT_S)
        group_devs = [_rename(d, ids[d.id], None if target_server is None else tag)
                      for d in devices]
        base = dict(urls={ids[i]: u for i, u in urls.items()},
                    tokens={ids[i]: t for i, t in tokens.items()}, proxy_api=endpoint.url,
                    store_root=str(tmp / "devices"), time_scale=k, duration_s=sc.duration_s,
                    settle_s=sc.settle_s, settle_link=sc.settle_link,
                    settle_schedule=settle.schedule(sc))
        base["proxies"] = {ids[i]: n for i, n in names.items()}
        base["base_rtt_ms"] = scale.base_rtt_ms
        base["warm_files"] = not capture
        plans = [GroupPlan(devices=tuple(g), **base)
                 for g in (_split(group_devs, n_proc) if n_proc else [group_devs])]
        disp = Dispatcher(url=url, token=dispatcher_token, users=ids, k=k, t0=0.0,
                          record=target_server is not None,
                          tag=None if target_server is None else tag)
        faults = (link_api, list(names.values()))
        with steady_gc():
            groups, t0 = asyncio.run(_play(sc, plans, disp, n_proc, devices, watch, faults))
        if cap is not None:
            cap.stop()  # it writes capture.har; flows.jsonl was written as flows ended
        client_traces = [p for g in groups for p in g.traces]
        shift = (server_epoch - t0) * k
        write_merged(trace, sc, k, client_traces, server_trace, shift, disp.events, epoch=t0)
        errors = [e for g in groups for e in g.errors] + disp.errors
        links = {d.id: d.links for d in group_devs}
        facts = {"errors": errors, "link_step_late_max_s": round(max(g.late_s for g in groups), 4),
                 "proxy": endpoint.kind}
        if cap is not None:
            facts["capture_run"] = {"dir": str(tmp / "capture"), "listeners": listeners}
        return facts, links


def _rename(d: DevicePlan, new_id: str, tag: str | None = None) -> DevicePlan:
    """``d`` under its server id; with ``tag`` (a team's long-lived server) the
    records its steps name get the run's tag too, as the dispatcher's do."""
    from dataclasses import replace

    if tag is not None:
        d = replace(d, steps=tuple(s if not s.record or s.record.endswith("." + tag)
                                   else replace(s, record=f"{s.record}.{tag}") for s in d.steps))
    return d if d.id == new_id else replace(d, id=new_id)


def _quietly(fn: Any, *args: Any) -> None:
    with contextlib.suppress(Exception):
        fn(*args)


def _provision(url: str, admin: str, devices: list[DevicePlan], ids: dict[str, str], policy: str,
               tag: str) -> tuple[dict[str, str], str]:
    tokens = {}
    with httpx.Client(base_url=url, timeout=SETUP_TIMEOUT_S,
                      headers={"Authorization": f"Bearer {admin}"}) as http:
        def make(user: str, role: str) -> str:
            try:
                r = http.post("/v1/admin/devices", json={"user": user, "role": role,
                                                          "device": user})
            except httpx.HTTPError as exc:
                raise RealRunError(f"{url}: cannot reach the server to provision devices "
                                   f"({type(exc).__name__}: {exc})") from None
            if r.status_code != 201:
                raise RealRunError(f"{url}: provisioning {user!r} ({role}) failed: "
                                   f"{r.status_code} {r.text[:200]}")
            return r.json()["token"]

        for d in devices:
            tokens[d.id] = make(ids[d.id], _role(policy))
        dispatcher = make(f"dispatcher-{tag}", "dispatcher")
    return tokens, dispatcher


async def _play(sc: Scenario, plans: list[GroupPlan], disp: Dispatcher, n_proc: int,
                devices: list[DevicePlan], watch: Watch, faults: Any = None
                ) -> tuple[list[GroupResult], float]:
    """Play the day, cut short the moment a child of the run dies."""
    play = asyncio.ensure_future(_play_day(sc, plans, disp, n_proc, devices, watch, faults))

    async def guard() -> None:
        while watch.death() is None:
            await asyncio.sleep(WATCH_POLL_S)

    guarding = asyncio.ensure_future(guard())
    try:
        await asyncio.wait({play, guarding}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        guarding.cancel()
        if not play.done():
            play.cancel()
        await asyncio.gather(play, guarding, return_exceptions=True)
    return play.result()  # a death is raised by the caller, which sees watch.death()


async def _play_day(sc: Scenario, plans: list[GroupPlan], disp: Dispatcher, n_proc: int,
                    devices: list[DevicePlan], watch: Watch, faults: Any = None
                    ) -> tuple[list[GroupResult], float]:
    from bench.real.procs import ProcessGroups

    behaving = [d.id for d in devices if d.behaviour is not None]
    procs = ProcessGroups(plans) if n_proc else None
    chosen = asyncio.Event()

    def epoch() -> float:
        # Every client is open: t = 0 is a moment from now (the lead only
        # covers the groups' first steps being scheduled).
        if not chosen.is_set():
            disp.t0 = watch.t0 = time.time() + START_LEAD_S
            chosen.set()
        return disp.t0

    async def dispatcher() -> None:
        await chosen.wait()
        await asyncio.gather(disp.steps(sc.dispatch), disp.random_work(sc, behaving),
                             _server_faults(sc, faults, disp))

    await disp.prepare(sc.dispatch)
    work = asyncio.create_task(dispatcher())
    try:
        if procs is not None:
            await asyncio.to_thread(procs.start)
            procs.go(epoch())
            groups = await asyncio.to_thread(procs.wait)
        else:
            warm_up()
            groups = list(await asyncio.gather(*(play_group(p, epoch) for p in plans)))
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        await disp.snapshot([d.id for d in devices])
        # The value oracle: every record of the run as the server's API returns it.
        await disp.read_back([d.id for d in devices],
                             {s.record for d in sc.devices for s in d.steps if s.record}
                             | {s.record for s in sc.dispatch})
    finally:
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        await disp.close()
        if procs is not None:
            procs.stop()
    return groups, disp.t0


async def _server_faults(sc: Scenario, faults: Any, disp: Dispatcher) -> None:
    """The scenario's server faults, played on every device's link at their times.

    ``server.lost_responses`` windows: the ``lose_reply`` toxic (the request
    reaches the server, its answer is cut; the device retries the same change
    ids). ``server.outages``: every connection is reset at its first byte (the
    server is unreachable). Each window's toxics are added at its start and
    removed at its end; a window still open at the end of the day is closed by
    the settle window's first step (the devices then settle on a sound server)."""
    if faults is None or not (sc.server.lost_responses or sc.server.outages):
        return
    api, proxies = faults
    steps: list[tuple[float, int, str]] = []
    for a, b in sc.server.lost_responses:
        steps += [(a, 1, "lost"), (min(b, sc.duration_s), 0, "lost")]
    for a, b in sc.server.outages:
        steps += [(a, 1, "outage"), (min(b, sc.duration_s), 0, "outage")]

    def toggle(kind: str, on: bool) -> None:
        for proxy in proxies:
            with contextlib.suppress(Exception):  # a proxy gone at the end of the run
                if kind == "lost" and on:
                    api.add_toxic(proxy, "lose_reply", name=LOST_TOXIC, stream="downstream",
                                  attributes={"count": 0})
                elif kind == "lost":
                    api.remove_toxic(proxy, LOST_TOXIC)
                elif on:
                    for name, stream in zip(OUTAGE_TOXICS, ("upstream", "downstream"), strict=True):
                        api.add_toxic(proxy, "reset_peer", name=name, stream=stream,
                                      attributes={"timeout": 0})
                else:
                    for name in OUTAGE_TOXICS:
                        api.remove_toxic(proxy, name)

    on: dict[str, bool] = {}
    try:
        for t, up, kind in sorted(steps):
            await disp.until(t)
            await asyncio.to_thread(toggle, kind, bool(up))
            on[kind] = bool(up)
        await disp.until(sc.duration_s)
    finally:
        for kind, was in on.items():
            if was:
                await asyncio.to_thread(toggle, kind, False)
