"""The asyncio reference client: one real device driving the sans-I/O engine.

Theory of operation: :class:`DeviceClient` owns one engine and carries out its
actions with real I/O::

    runner / script ──> set_link, app, edit, manual ──┐
    WebSocket push ──> PushReceived ──────────────────┤
    HTTP answers ──> SyncResponse / SyncFailed ───────┼─> _feed(input)
    transfers ──> FileProgress / FileDone ────────────┤     │ engine.handle
    timer (deadline / K) ──> Tick ────────────────────┘     │ store.save   (durable first)
                                                            │ trace.write  (then told)
                                                            └ start/abort tasks, timer, push

``_feed`` is synchronous, so one input is handled, saved and acted on without
another task slipping in between: the engine sees inputs one at a time in
non-decreasing spec time (``now = max(clock, engine.now)``). The state is
saved *before* any trace line or request: "A change is durable before the user
is told it is saved". Syncs and transfers run as tasks that feed their result
back; the engine's ``SetTimer`` becomes one ``loop.call_later`` of
``(deadline - now) / K`` wall seconds (spec/links.md: "policy timers run K
times faster").

Each ``StartSync`` and ``StartTransfer`` runs as its own task that ends by
feeding the engine exactly one answer (``SyncResponse``/``SyncFailed``,
``FileDone``); a task the engine aborted is cancelled and feeds nothing (the
engine already wrote its ``sync_end``/``file_end``); network failures become
failed answers with a short ``error`` (``network``, ``http 409``). At most
``FILE_CONNECTIONS`` (OkHttp's 5 per host) transfers move at once; the rest
queue. Two adaptations to the engine live there too. The protocol acks a refused change
with ``"version": null, "error": ...`` ("A client must treat an ack with a
non-null error as refused, not saved"); the engine's ``Ack`` wants a version,
so the driver drops refused changes from the outbox, records them in the
store's ``refused`` table, and feeds the rest of the answer. And with
``measure_link`` on, a Wi-Fi link measured below 550 kbps is reported to the
engine as ``edge`` (spec/links.md "Wi-Fi tethered to a 2G phone").
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reference_client import engine as E  # noqa: N812
from reference_client.client import files
from reference_client.client.api import (
    FILE_CONNECTIONS,
    ApiError,
    NetworkError,
    ServerApi,
    count_connects,
)
from reference_client.client.clock import SpecClock, WallClock
from reference_client.client.config import ClientConfig
from reference_client.client.push import PushListener
from reference_client.client.store import DeviceStore
from reference_client.client.throughput import ThroughputMeter
from reference_client.client.trace import TraceWriter, meta_event
from reference_client.policies import MUTANTS, Policy, get_policy

# Store key of the trace events of the last input that emitted any: committed
# with the state, written to the trace after; a restart writes the ones a kill
# kept from reaching the trace (TraceWriter.complete).
PENDING = "trace_pending"


# The class a tethered Wi-Fi link measured below the 550 kbps line is reported as
# (spec/links.md puts EDGE on the slow side).
MEASURED_SLOW_CLASS = "edge"
# How long (spec seconds) a slow verdict holds before the device trusts the OS's
# Wi-Fi again and measures anew: a Planado sync period and a half, so at
# least one timer sync runs under the verdict.
MEASURED_SLOW_HOLD_S = 180.0


@dataclass(slots=True)
class _Running:
    """A transfer in flight: its task and the offsets it saw (first, last, last fed)."""

    task: asyncio.Task[Any] | None = None
    first: int | None = None
    last: int | None = None
    reported: int = -1


def resolve_policy(config: ClientConfig) -> Policy:
    """The policy object: a mutant's (``reference_client.mutants``) or the named one."""
    if config.mutant is None:
        return get_policy(config.policy)
    mutant = MUTANTS.get(config.mutant)
    if mutant is None:
        raise ValueError(f"ClientConfig.mutant: unknown mutant {config.mutant!r} "
                         f"(known: {', '.join(sorted(MUTANTS))})")
    if mutant.base != config.policy:
        raise ValueError(f"ClientConfig.mutant: {config.mutant!r} is a {mutant.base} mutant, "
                         f"not {config.policy}")
    return mutant.policy


class DeviceClient:
    """One device. ``async with DeviceClient(config) as dev: await dev.set_link("wifi")``."""

    _warned = False  # the one "server refused the sync" message was printed

    def __init__(self, config: ClientConfig, *, wall: WallClock = time.time,
                 transport: Any = None, on_event: Callable[[dict], None] | None = None) -> None:
        self.config = config
        self._wall = wall
        self._transport = transport
        self._on_event = on_event
        self.events: list[dict[str, Any]] = []  # every device event written, for callers
        self.errors: list[BaseException] = []  # unexpected task failures (driver bugs)
        self.shown_unsent = 0
        self.shown_last_sync: float | None = None
        self.meter = ThroughputMeter(time_scale=config.time_scale)
        self._os_link: str | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._syncs: dict[str, asyncio.Task[Any]] = {}
        self._transfers: dict[tuple[str, str], _Running] = {}
        self._connects: dict[tuple[str, str], int] = {}  # (file, dir) -> new connections
        self._timer: asyncio.TimerHandle | None = None
        self._changed: asyncio.Event | None = None
        self._started = self._closed = False

    # ---- life cycle ---------------------------------------------------------

    async def __aenter__(self) -> DeviceClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the store (restoring the engine it holds), the trace and the HTTP pools."""
        cfg = self.config
        policy = resolve_policy(cfg)
        self.store = store = DeviceStore(cfg.store)
        try:
            self._open(policy)
        except BaseException:
            store.close()
            raise
        self._started = True

    def _open(self, policy: Policy) -> None:
        cfg, store = self.config, self.store
        files.sweep_temporaries(cfg.store)
        saved = store.load()
        if saved is not None and saved["device"] != cfg.device:
            raise ValueError(f"store {store.path}: holds device {saved['device']!r}, "
                             f"not {cfg.device!r}")
        epoch = cfg.trace_epoch if cfg.trace_epoch is not None else store.get_meta("epoch")
        if epoch is None:
            epoch = self._wall()
        boots = int(store.get_meta("boots", 0)) + 1
        # One stream per use and per start: timer jitter, photo bytes and push
        # backoff do not shift each other, and a restarted device does not redraw
        # the photos of its previous life (all still reproducible from the seed).
        seed = f"{cfg.seed}:{cfg.device}:{boots}"
        self.rng = random.Random(seed)
        self._photo_rng = random.Random(seed + ":photos")
        self.clock = SpecClock(epoch=epoch, time_scale=cfg.time_scale, wall=self._wall)
        self.trace = None
        if cfg.trace is not None:
            try:
                self.trace = TraceWriter(cfg.trace, meta=meta_event(
                    policy=policy.base, seed=cfg.seed, time_scale=cfg.time_scale))
            except OSError as exc:
                raise ValueError(f"trace {cfg.trace}: cannot open ({exc.strerror or exc})"
                                 ) from None
        if self.trace is not None and saved is not None:
            # A kill between a commit and its trace lines: write the lines now.
            self.trace.complete(store.get_meta(PENDING) or [])
        floor = max(self.clock.now(), (saved or {}).get("now") or 0.0,
                    (self.trace.last_t if self.trace else None) or 0.0)
        if saved is not None:
            try:
                self.engine = E.Engine.from_dict(saved, policy=policy, rng=self.rng,
                                                 start=floor)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"store {store.path}: engine state unreadable ({exc!r})"
                                 ) from None
        else:
            self.engine = E.Engine(device=cfg.device, policy=policy, rng=self.rng, start=floor)
        self.shown_unsent = int(store.get_meta("ui_unsent", 0))
        self.shown_last_sync = store.get_meta("ui_last_sync")
        store.save(self.engine.to_dict(), meta={"epoch": epoch, "boots": boots})
        self._changed = asyncio.Event()
        self._file_slots = asyncio.Semaphore(FILE_CONNECTIONS)
        self.api = ServerApi(base_url=cfg.server, token=cfg.token,
                             timeout_s=cfg.wall_timeout(cfg.sync_timeout_s),
                             transport=self._transport)
        self.push = PushListener(url=cfg.push_url, token=cfg.token, on_push=self._on_push,
                                 clock=self.clock, rng=random.Random(seed + ":push"),
                                 open_timeout_s=cfg.wall_timeout(cfg.sync_timeout_s),
                                 on_change=self._push_changed)
        # What the trace last said of the push channel (None: nothing yet, so the
        # first failed connect is said too: a server without /v1/push shows as such).
        self._channel_up: bool | None = None

    async def close(self) -> None:
        """Graceful stop: cancel every task, then close the app in the trace (the
        process ends, as when the OS kills it: trace.md ``closed (killed)``), which
        ends the sync and transfers in flight; flush the trace, close the store."""
        if not self._started or self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        transfers = list(self._transfers.items())
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        push = self.push.stop()
        self._push_changed()
        await asyncio.gather(*tasks, *([push] if push else []), return_exceptions=True)
        self._tasks.clear()
        for (file, direction), run in transfers:
            if run.last is not None:  # keep the bytes moved: the restart resumes there
                self._feed(E.FileProgress(now=self.now, file=file, dir=direction,
                                          bytes=run.last), act=False)
        if self.engine.app != "closed":
            # Like Engine.from_dict after a restart: "the app closed". The engine
            # ends the sync and transfers in flight and starts nothing more.
            self._feed(E.AppChanged(now=self.now, state="closed"), act=False)
        await self.api.aclose()
        if self.trace is not None:
            self.trace.close()
        self.store.close()

    # ---- the public API -------------------------------------------------------

    def set_epoch(self, epoch: float) -> None:
        """Move t = 0 to wall-clock second ``epoch`` (a runner that opens every
        device first and picks the run's epoch after); kept in the store."""
        self.clock.epoch = float(epoch)
        self.store.save(self.engine.to_dict(), meta={"epoch": float(epoch)})
        self._set_timer(self.engine.next_deadline)  # its wall delay has moved

    @property
    def now(self) -> float:
        """Spec time now (never earlier than the engine's)."""
        return max(self.clock.now(), self.engine.now)

    async def set_link(self, link_class: str) -> None:
        """The OS reports a link class (spec/trace.md ``link`` vocabulary)."""
        self._os_link = link_class
        self._report_progress()
        self._feed(E.LinkChanged(now=self.now, link_class=self._effective_link(link_class)))

    async def app(self, state: str) -> None:
        """``opened``, ``minimized``, ``restored`` or ``closed``."""
        self._report_progress()
        self._feed(E.AppChanged(now=self.now, state=state))

    def _report_progress(self) -> None:
        """Tell the engine how far each transfer got before an input that may abort
        it: progress is fed a chunk at a time, and an abort's ``file_end`` says the
        bytes the engine knows -- a download resumes from every byte its ``.part``
        file holds, so without this it would read as faster than the link."""
        for (file, dir_), run in list(self._transfers.items()):
            if run.last is not None and run.last > max(run.reported, 0):
                run.reported = run.last
                self._feed(E.FileProgress(now=self.now, file=file, dir=dir_, bytes=run.last))

    async def edit(self, record: str, kind: str, *, fields: dict[str, Any] | None = None,
                   status: str | None = None, nbytes: int | None = None) -> str:
        """Save a change (``text``: fields, ``status``: status, ``photo``: nbytes random
        bytes written to a file); returns the change id once it is durable."""
        if kind != "photo":
            return self._edit(E.UserEdit(now=self.now, record=record, kind=kind, fields=fields,
                                         status=status))
        E.UserEdit(now=self.now, record=record, kind=kind, bytes=nbytes)  # validate first
        # The bytes come from a child generator seeded on this thread, so the
        # photo stream stays deterministic while another thread writes the file.
        child = random.Random(self._photo_rng.getrandbits(64))
        problem = files.photo_size_problem(nbytes)
        if problem:
            raise ValueError(f"photo bytes: {problem}")
        tmp, sha = await self._take_photo(child, nbytes)
        return self._edit(E.UserEdit(now=self.now, record=record, kind=kind, bytes=nbytes,
                                     sha256=sha), photo=(tmp, sha, nbytes))

    async def _take_photo(self, rng: random.Random, nbytes: int) -> tuple[Any, str]:
        """Write the photo on a worker thread; a cancelled edit (SIGTERM, close)
        stops the thread within one chunk and waits for it to remove the file."""
        cancel = threading.Event()
        fut = asyncio.get_running_loop().run_in_executor(
            None, files.take_photo, self.config.store, rng, nbytes, cancel)
        try:
            return await asyncio.shield(fut)
        except asyncio.CancelledError:
            cancel.set()
            with contextlib.suppress(BaseException):
                await fut
            raise

    async def manual(self, via: str | None = None) -> None:
        self._feed(E.ManualSync(now=self.now, via=via))

    async def snapshot(self) -> dict[str, int]:
        """Write a ``snapshot`` event; returns the local view ``{record: version}``."""
        self._feed(E.SnapshotRequest(now=self.now))
        return self.engine.records()

    @property
    def unsent(self) -> int:
        return self.engine.unsent

    def records(self) -> dict[str, int]:
        return self.engine.records()

    @property
    def busy(self) -> bool:
        """A sync or a transfer is in flight."""
        return bool(self._syncs or self._transfers)

    async def wait_for(self, predicate: Callable[[DeviceClient], bool], timeout: float) -> None:
        """Wait up to ``timeout`` wall seconds until ``predicate(self)`` holds (checked
        after every input); ``TimeoutError`` naming the device's state otherwise."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate(self):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"device {self.config.device}: condition not met within "
                                   f"{timeout} s (unsent={self.unsent}, busy={self.busy}, "
                                   f"errors={self.errors!r})")
            assert self._changed is not None
            try:
                await asyncio.wait_for(self._changed.wait(), left)
            except TimeoutError:
                pass

    # ---- feeding the engine -------------------------------------------------

    def _edit(self, inp: E.UserEdit, photo: tuple | None = None) -> str:
        actions = self.engine.handle(inp)
        change = next(a.event["change"] for a in actions
                      if isinstance(a, E.Emit) and a.event["ev"] == "edit")
        row = None
        if photo is not None:
            tmp, sha, nbytes = photo
            row = (change, files.keep_photo(self.config.store, tmp, change), sha, nbytes)
        self._after(actions, photo=row)
        return change

    def _feed(self, inp: E.Input, *, act: bool = True, refused: list | None = None) -> None:
        self._after(self.engine.handle(inp), act=act, refused=refused)

    def _after(self, actions: list[E.Action], *, act: bool = True, photo: tuple | None = None,
               refused: list | None = None) -> None:
        for a in actions:
            if isinstance(a, E.ShowUnsent):
                self.shown_unsent = a.n
            elif isinstance(a, E.ShowLastSync):
                self.shown_last_sync = a.at
        emitted = [a.event for a in actions if isinstance(a, E.Emit)]
        if self._connects:
            for ev in emitted:  # an extension of file_end: new connections it opened
                if ev["ev"] == "file_end":
                    n = self._connects.pop((ev["file"], ev["dir"]), None)
                    if n:
                        ev["connects"] = n
        meta: dict[str, Any] = {"ui_unsent": self.shown_unsent,
                                "ui_last_sync": self.shown_last_sync}
        if emitted and self.trace is not None:
            meta[PENDING] = emitted  # written with the state they describe (see start)
        # Durable first: the store commits before the trace says "saved".
        self.store.save(self.engine.to_dict(), photo=photo, refused=refused or (), meta=meta)
        for event in emitted:
            if self.trace is not None:
                self.trace.write(event)
            self.events.append(event)
            if self._on_event is not None:
                self._on_event(event)
        if act:
            for a in actions:
                self._act(a)
            self._reconcile_push()
        self._poke()

    def _push_changed(self) -> None:
        """The push socket came up or went down: say so in the trace (``push_channel``),
        so a checker judges pushes only while this device could receive them."""
        up = self.push.connected
        if up != self._channel_up:
            self._channel_up = up
            event = {"ev": "push_channel", "t": self.now, "dev": self.config.device, "up": up}
            if self.trace is not None:
                event["t"] = max(event["t"], self.trace.last_t or 0.0)
                self.trace.write(event)
            self.events.append(event)
            if self._on_event is not None:
                self._on_event(event)
        self._poke()

    def _poke(self) -> None:
        """Wake every ``wait_for`` (each waits on the event of its generation)."""
        event, self._changed = self._changed, asyncio.Event()
        if event is not None:
            event.set()

    def _act(self, a: E.Action) -> None:
        if isinstance(a, E.StartSync):
            self._syncs[a.sync] = self._spawn(self._run_sync(a), f"sync {a.sync}")
        elif isinstance(a, E.AbortSync):
            task = self._syncs.pop(a.sync, None)
            if task is not None:
                task.cancel()
        elif isinstance(a, E.StartTransfer):
            run = self._transfers[(a.file, a.dir)] = _Running()
            run.task = self._spawn(self._run_transfer(a, run), f"file {a.dir} {a.file}")
        elif isinstance(a, E.AbortTransfer):
            run = self._transfers.pop((a.file, a.dir), None)
            if run is not None and run.task is not None:
                run.task.cancel()
        elif isinstance(a, E.SetTimer):
            self._set_timer(a.deadline)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._reap)
        return task

    def _reap(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())  # a driver bug: keep it visible
            print(f"device {self.config.device}: task {task.get_name()} failed: "
                  f"{task.exception()!r}", file=sys.stderr)

    def _set_timer(self, deadline: float | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None and not self._closed:
            self._timer = asyncio.get_running_loop().call_later(
                self.clock.wall_delay(deadline), self._on_timer, deadline)

    def _on_timer(self, deadline: float) -> None:
        self._timer = None
        self._feed(E.Tick(now=max(self.now, deadline)))

    def _on_push(self, record: str, reason: str | None) -> None:
        self._feed(E.PushReceived(now=self.now, record=record, reason=reason))

    def _reconcile_push(self) -> None:
        """Hold the push socket exactly while the app runs and the link is up."""
        want = (self.config.push and self.engine.app != "closed"
                and self.engine.link != "offline")
        if want and not self.push.running and not self._closed:
            self.push.start()
        elif not want and self.push.running:
            task = self.push.stop()
            self._push_changed()
            if task is not None:
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _effective_link(self, os_class: str) -> str:
        if self.config.measure_link and os_class == "wifi" and self.meter.is_slow:
            return MEASURED_SLOW_CLASS
        return os_class

    # ---- sync requests, file transfers, link measurement -----------------------
    def _wall_saved_at(self, request: dict) -> dict:
        """The request with each change's ``saved_at`` in Unix seconds, as a
        phone's clock would say it (the engine keeps spec seconds)."""
        changes = request.get("changes") or ()
        if not changes:
            return request
        epoch, k = self.clock.epoch, self.clock.time_scale
        return {**request, "changes": [
            {**c, "saved_at": round(epoch + c["saved_at"] / k, 6)} if c.get("saved_at") is not None
            else c for c in changes]}

    async def _run_sync(self, a: E.StartSync) -> None:
        cfg = self.config
        try:
            body = await self.api.sync(self._wall_saved_at(a.request),
                                       timeout_s=cfg.wall_timeout(cfg.sync_timeout_s))
        except (NetworkError, ApiError) as exc:
            self._syncs.pop(a.sync, None)
            if isinstance(exc, ApiError) and exc.status in (401, 403) and not self._warned:
                # A wrong token or device never heals by retrying: say so once.
                self._warned = True
                print(f"device {self.config.device}: the server refused the sync ({exc})",
                      file=sys.stderr)
            self._feed(E.SyncFailed(now=self.now, sync=a.sync, error=_short(exc)))
            return
        self._syncs.pop(a.sync, None)
        refused = []
        if isinstance(body, dict) and isinstance(body.get("acks"), list):
            keep = []
            for ack in body["acks"]:
                if isinstance(ack, dict) and ack.get("error") is not None:
                    refused.append((ack.get("change"), ack.get("record"), str(ack["error"])))
                else:
                    keep.append(ack)
            body = {**body, "acks": keep}
        try:
            inp = E.SyncResponse.from_json(now=self.now, sync=a.sync, body=body)
        except (ValueError, AttributeError) as exc:
            self._feed(E.SyncFailed(now=self.now, sync=a.sync, error=f"bad response: {exc}"))
            return
        for change, _, _ in refused:
            self.engine.store.outbox.pop(change, None)  # refused, not saved: stop resending
        self._feed(inp, refused=[(c, r or "", e, inp.now) for c, r, e in refused])

    async def _run_transfer(self, a: E.StartTransfer, run: _Running) -> None:
        cfg, key = self.config, (a.file, a.dir)
        step = cfg.upload_chunk

        def progress(n: int) -> None:
            if run.first is None:
                run.first = n
            run.last = n
            # One FileProgress (one store commit) per chunk, not per network read.
            if n - run.reported >= step or n >= a.bytes:
                run.reported = n
                self._feed(E.FileProgress(now=self.now, file=a.file, dir=a.dir, bytes=n))

        opened = count_connects()  # this task's file requests (one transfer's)
        try:
            async with self._file_slots:  # at most FILE_CONNECTIONS move at once
                started = asyncio.get_running_loop().time()
                if a.dir == "up":
                    photo = self.store.photo(a.file)
                    if photo is None:
                        raise OSError(f"photo for change {a.file} is not in the store")
                    path, sha, nbytes = photo
                    n = await files.upload(self.api, file=a.file, path=path, sha256=sha,
                                           total=nbytes, chunk=step, progress=progress)
                else:
                    n = await files.download(self.api, file=a.file, store_dir=cfg.store,
                                             total=a.bytes, sha256=a.sha256, progress=progress)
        except (NetworkError, ApiError, OSError) as exc:
            if self._transfers.pop(key, None) is not None:
                self._feed(E.FileDone(now=self.now, file=a.file, dir=a.dir, ok=False,
                                      bytes=run.last, error=_short(exc)))
            return
        if self._transfers.pop(key, None) is None:
            return  # aborted while finishing: the engine already ended it
        sampled = self.meter.sample(n - (run.first or 0),
                                    asyncio.get_running_loop().time() - started)
        # The transfer ends first: a link turning slow would otherwise abort it.
        if opened[0]:
            self._connects[key] = opened[0]  # said on its file_end (_after)
        self._feed(E.FileDone(now=self.now, file=a.file, dir=a.dir, ok=True, bytes=n))
        if sampled:
            self._remeasure()

    def _remeasure(self) -> None:
        """Tell the engine the class the measurement implies, if it changed."""
        if self._os_link is None or self._closed:
            return
        effective = self._effective_link(self._os_link)
        if effective == self.engine.link:
            return
        self._feed(E.LinkChanged(now=self.now, link_class=effective))
        if effective == MEASURED_SLOW_CLASS:
            # No file moves on a slow link, so no new sample would ever lift the
            # verdict: it expires, and the next transfer measures again.
            self._spawn(self._forget_measurement(), "measurement hold")

    async def _forget_measurement(self) -> None:
        await asyncio.sleep(self.clock.to_wall(MEASURED_SLOW_HOLD_S))
        self.meter.kbps = None
        self._remeasure()


def _short(exc: BaseException) -> str:
    """A one-line error for the trace's ``sync_end``/``file_end`` ``error``."""
    if isinstance(exc, ApiError):
        return f"http {exc.status}"
    if isinstance(exc, NetworkError):
        return "network"
    return f"{type(exc).__name__}: {exc}"[:120]
