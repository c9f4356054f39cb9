"""Play a group of real devices through their shaped links, in one event loop.

Theory of operation: a *group* is the devices one process carries (the whole
fleet for a small run, a share of it per worker process for a large one).
For each device the group starts a reference client (``DeviceClient``) whose
server is the device's own proxy, so HTTP and the push WebSocket both cross
the shaped link. From the run's epoch ``t0`` (wall seconds of spec t = 0) the
device has up to three coroutines, all waiting in wall time ``t0 + t / K``::

    links      LinkDriver: apply the profile to the proxy, then tell the app
               its link class (as the OS would)
    steps      the scenario's explicit steps (app, edit, manual, snapshot)
    behaviour  a person acting by a preset (bench.real.people)

At ``duration`` they are cancelled and the settle window begins (trace.md:
"every device online on a fast link, running"): every proxy goes to the
settle profile -- or, when that profile cannot run at K (Wi-Fi's 1 ms one-way
latency allows K = 1 only), to no shaping at all, loopback being faster than
any link -- each app is told the settle link's class and is opened or
restored; halfway through every device pulls by hand (so a PlayMaker device
receives what the web changed); at the end each writes a ``snapshot`` and is
closed. Nothing here knows about the server trace or the rules.

A device with notifications off (``push: false``) never opens the push
socket: the client's push reconciliation is switched off in a subclass.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.real.plan import DevicePlan
from bench.scenario import settle
from bench.scenario.rng import stream


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupPlan:
    """What one process needs to play its devices (picklable)."""

    devices: tuple[DevicePlan, ...]
    urls: dict[str, str]  # device -> base URL of its proxy
    tokens: dict[str, str]  # device -> bearer token
    proxies: dict[str, str]  # device -> the name of its proxy on the Toxiproxy server
    proxy_api: str | None  # the Toxiproxy API URL (None: links are not shaped)
    store_root: str
    time_scale: float
    duration_s: float
    settle_s: float
    settle_link: str
    settle_schedule: tuple[tuple[float, str], ...] = ()  # bench.scenario.settle.schedule
    # Per profile: the machine's own round trip at K, off the link's latency
    # (bench.real.calibrate); a profile not named gets none taken off.
    base_rtt_ms: dict[str, float] = field(default_factory=dict)
    # One file exchange per device before t = 0 (off when a capture proxy
    # records the traffic: it would read as a transfer).
    warm_files: bool = True


@dataclass(slots=True, kw_only=True)
class GroupResult:
    traces: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    late_s: float = 0.0  # the latest a link step was applied (wall seconds)


def _client_class(push: bool) -> Any:
    from reference_client.client import DeviceClient

    if push:
        return DeviceClient

    class PushOffClient(DeviceClient):
        """Notifications off: the push socket is never opened."""

        def _reconcile_push(self) -> None:
            return None

    return PushOffClient


# The clients are opened before the run's epoch is chosen (opening a store
# takes a few hundred milliseconds of SQLite set-up per device), under a
# placeholder epoch this far in the future, so nothing they could stamp before
# the real epoch is set would be at or after t = 0.
PLACEHOLDER_EPOCH_AHEAD_S = 86400.0
# The file id the warm-up exchange asks about (never created: ids of the
# bench's own files are change ids and scenario names).
WARM_UP_FILE = "syncbench-warm-up"


class _Group:
    def __init__(self, plan: GroupPlan) -> None:
        self.plan = plan
        self.t0 = time.time() + PLACEHOLDER_EPOCH_AHEAD_S
        self.k = plan.time_scale
        self.clients: dict[str, Any] = {}
        self.result = GroupResult()
        self.link_api: Any = None
        self.drivers: list[Any] = []
        self.inflight: set[asyncio.Future[Any]] = set()  # link steps being applied

    async def until(self, t: float) -> None:
        wait = self.t0 + t / self.k - time.time()
        if wait > 0:
            await asyncio.sleep(wait)

    def now(self) -> float:
        return (time.time() - self.t0) * self.k

    async def start(self) -> None:
        from reference_client.client import ClientConfig

        p = self.plan
        for d in p.devices:
            store = Path(p.store_root) / d.id
            trace = Path(p.store_root) / f"{d.id}.trace.jsonl"
            cfg = ClientConfig(server=p.urls[d.id], token=p.tokens[d.id], device=d.id,
                               policy=d.policy, mutant=d.mutant, store=store, trace=trace,
                               time_scale=self.k, trace_epoch=self.t0, seed=d.seed)
            client = _client_class(d.push)(cfg)
            await client.start()
            self.clients[d.id] = client
            self.result.traces.append(str(trace))
        if p.proxy_api is not None:
            from bench.link.client import LinkClient

            self.link_api = LinkClient(p.proxy_api)
            # The t = 0 profiles go on before the epoch is chosen, so the first
            # step at t = 0 finds its toxics in place and only checks them.
            await asyncio.gather(*(asyncio.to_thread(self._first_profile, d) for d in p.devices))
        if p.warm_files:
            await asyncio.gather(*(self._warm(c) for c in self.clients.values()))

    async def _warm(self, client: Any) -> None:
        """One exchange on each of the device's file connections' code paths
        before t = 0: a first transfer otherwise pays the connection through its
        proxy and the first call of the upload and download paths (some
        milliseconds, times K in spec time; measured +10-40 % on a run's first
        300 kB upload at K = 48). Asks for a file that does not exist: nothing
        is created and nothing is traced."""
        from reference_client.client.api import ApiError, NetworkError

        with contextlib.suppress(ApiError, NetworkError):
            await client.api.upload_status(WARM_UP_FILE)
        with contextlib.suppress(ApiError, NetworkError):
            async for _ in client.api.download(WARM_UP_FILE, 0):
                pass

    def _first_profile(self, d: DevicePlan) -> None:
        profile = d.links[0][1]
        self.link_api.apply_profile(self.plan.proxies[d.id], profile, self.k,
                                    base_rtt_ms=self.plan.base_rtt_ms.get(profile, 0.0))

    def begin(self, t0: float) -> None:
        """Set the run's epoch on every client (spec t = (wall - t0) * K)."""
        self.t0 = t0
        for dev in self.clients.values():
            # The client takes its epoch from its config when it starts; the
            # run's epoch is known only once every client is open, so it is set
            # on the client's spec clock here (reference_client.client.clock).
            dev.clock.epoch = t0

    async def _links(self, d: DevicePlan) -> None:
        from bench.link.driver import LinkDriver, client_applier

        dev = self.clients[d.id]

        def on_link(cls: str) -> None:
            asyncio.get_running_loop().create_task(dev.set_link(cls))

        if self.link_api is None:  # no proxy: only tell the app
            from bench.link.profiles import get_profile

            for t, profile in d.links:
                await self.until(t)
                await dev.set_link(get_profile(profile).link_class)
            return
        applier = client_applier(self.link_api, self.plan.proxies[d.id],
                                 base_rtt_ms=self.plan.base_rtt_ms)

        async def apply(profile: Any, k: float) -> None:
            # A thread cannot be cancelled: keep it, so the settle window waits
            # for a step in flight instead of racing it on the same proxy.
            fut = asyncio.ensure_future(asyncio.to_thread(applier, profile, k))
            self.inflight.add(fut)
            fut.add_done_callback(self.inflight.discard)
            await asyncio.shield(fut)

        driver = LinkDriver(dev=d.id, apply=apply, time_scale=self.k, on_link=on_link,
                            clock=time.time, base_rtt_ms=self.plan.base_rtt_ms)
        self.drivers.append(driver)
        await driver.run(d.links, start=self.t0)

    async def _steps(self, d: DevicePlan) -> None:
        dev = self.clients[d.id]
        await self.until(0.0)
        await asyncio.sleep(0)  # the t=0 link step goes first
        for s in d.steps:
            await self.until(s.t)
            if s.kind == "app":
                await dev.app(s.value)
            elif s.kind == "edit":
                record = s.record or f"{d.id}-r0"
                if s.value == "photo":
                    await dev.edit(record, "photo", nbytes=s.bytes or 1)
                elif s.value == "status":
                    await dev.edit(record, "status", status=s.status)
                else:
                    await dev.edit(record, "text",
                                   fields={"report": s.text or f"note at {self.now():.0f}"})
            elif s.kind == "manual":
                await dev.manual(s.value or None)
            elif s.kind == "snapshot":
                await dev.snapshot()

    async def _person(self, d: DevicePlan) -> None:
        from bench.real.people import worker
        from bench.scenario.people import PRESETS

        await self.until(0.0)
        await asyncio.sleep(0)
        rng = stream(d.run_seed, d.id, "behaviour")
        await worker(self.clients[d.id], PRESETS[d.behaviour], rng, self.until, self.now,
                     self.plan.duration_s)

    async def _guard(self, coro: Any, what: str) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a device's failure is reported, the run goes on
            self.result.errors.append(f"{what}: {exc!r}")

    async def play(self) -> None:
        from bench.link.profiles import get_profile

        p = self.plan
        # Every app learns its t = 0 link before any step or person acts, as in
        # the simulator (its toxics went on in start()): a step at t = 0 once
        # raced the link driver's thread and the app opened before it had a
        # link, so its first sync was "link", not "open" (found by
        # first_divergence, bench.real.compare). The link driver's own t = 0 step
        # then repeats the class, which the engine ignores.
        for d in p.devices:
            await self.clients[d.id].set_link(get_profile(d.links[0][1]).link_class)
        tasks = []
        for d in p.devices:
            tasks.append(asyncio.create_task(self._guard(self._links(d), f"{d.id} links")))
            if d.steps:
                tasks.append(asyncio.create_task(self._guard(self._steps(d), f"{d.id} steps")))
            if d.behaviour is not None:
                tasks.append(asyncio.create_task(self._guard(self._person(d), f"{d.id} person")))
        await self.until(p.duration_s)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*self.inflight, return_exceptions=True)
        await self.settle()

    async def settle(self) -> None:
        from bench.link.profiles import get_profile
        from bench.link.timescale import TimeScaleError, check_time_scale

        p = self.plan
        profile = get_profile(p.settle_link)
        try:
            check_time_scale(profile, self.k,
                             base_rtt_ms=self.plan.base_rtt_ms.get(profile.name, 0.0))
            shaped = True
        except TimeScaleError:
            shaped = False
        if self.link_api is not None:
            await asyncio.gather(*(asyncio.to_thread(self._settle_proxy, p.proxies[d.id], profile,
                                                     shaped)
                                   for d in p.devices))
        # The settle window's moments (bench.scenario.settle), as the simulator plays them.
        for t, moment in p.settle_schedule:
            await self.until(t)
            for dev in self.clients.values():
                if moment == "fast":
                    await dev.set_link(profile.link_class)
                    state = settle.wake(dev.engine.app)
                    if state is not None:
                        await dev.app(state)
                elif moment == "pull":
                    await dev.manual("settle")
                else:
                    await dev.snapshot()

    def _settle_proxy(self, proxy: str, profile: Any, shaped: bool) -> None:
        api = self.link_api
        if shaped:
            api.apply_profile(proxy, profile, self.k,
                              base_rtt_ms=self.plan.base_rtt_ms.get(profile.name, 0.0))
            return
        for toxic in api.toxics(proxy):
            api.remove_toxic(proxy, toxic["name"])
        if not api.get_proxy(proxy)["enabled"]:
            api.enable(proxy)

    async def close(self) -> None:
        for d_id, dev in self.clients.items():
            self.result.errors += [f"{d_id}: client task failed: {e!r}" for e in dev.errors]
            with contextlib.suppress(Exception):
                await dev.close()
        if self.link_api is not None:
            self.link_api.close()
        late = [x for drv in self.drivers for x in drv.lateness]
        self.result.late_s = max(late, default=0.0)


def warm_up() -> None:
    """Import what a group needs, so starting it after ``t0`` is chosen takes
    milliseconds (a cold import of the client and its HTTP stack takes about a second)."""
    import bench.link.client  # noqa: F401
    import bench.link.driver  # noqa: F401
    import bench.real.people  # noqa: F401
    import reference_client.client.app  # noqa: F401
    import reference_client.mutants  # noqa: F401


async def play_group(plan: GroupPlan, epoch: Callable[[], float]) -> GroupResult:
    """Open the group's clients, ask ``epoch()`` for the run's t0 (it may block:
    a worker process waits for its parent there), play to the end of the settle window."""
    group = _Group(plan)
    try:
        await group.start()
        group.begin(epoch())
        await group.play()
    finally:
        await group.close()
    return group.result
