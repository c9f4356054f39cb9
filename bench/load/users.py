"""Locust users: one per device, and the dispatcher at the web application.

Theory of operation: this module imports ``locust`` (and so gevent's
monkey-patching); nothing outside ``bench.load`` imports it. A
:class:`DeviceUser` wraps one :class:`~bench.load.device.LoadDevice` -- the
same sans-I/O engine as the reference client and the simulator -- with
Locust's ``FastHttpSession`` as its transport. Its wait between steps is the
device's :meth:`~LoadDevice.wake_in`, i.e. the engine's ``next_deadline`` (or
the person's next act, or the profile's next moment) divided by the time
scale; a push wakes it early through a gevent ``Event``.

The :class:`DispatcherUser` (exactly one per run: ``fixed_count = 1``)
creates, edits and moves jobs through ``/v1/web/jobs`` at
``dispatch_per_device_h`` operations per device per spec hour, and at a
burst profile's moment edits one job of every device at once. After each
operation it relays the push the server would send over ``/v1/push`` to the
device, through Locust's message channel::

    DispatcherUser --send_message("push")--> (local runner | master --relay--> every worker)
                                                  └--> DeviceUser.dev.push() + wake

By default (``push_sockets``) every device instead holds its own push
WebSocket (``/v1/push``) while its app is open and online, as a phone holds
its push channel, and the server's push wakes it; the dispatcher then only
tells the devices' processes *when* it made each change (message ``sent``),
so each push's delivery latency -- dispatcher change to device -- is
measured, along with the sockets held and the reconnects (a storm's
reconnect wave among them). Without it the dispatcher relays the push itself
through Locust's message channel, as drawn above. The run configuration
reaches workers the same way (message ``config``); the dispatcher's marks
(burst start/end) go to the controller as message ``mark``.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import deque
from typing import Any

import gevent
import orjson
from gevent.event import Event
from gevent.pool import Pool
from locust import FastHttpUser, TaskSet, task
from locust.runners import MasterRunner, WorkerRunner

from bench.load.config import LoadConfig
from bench.load.device import MAX_WAIT_S, LoadDevice
from bench.load.profiles import get_profile

# Concurrent web requests of the dispatcher's bulk change: a web application
# server fanning a bulk edit out over a small worker pool.
BULK_CONCURRENCY = 16
# Dispatcher operation mix, by weight: edits dominate a dispatcher's day, then
# status moves and new jobs.
DISPATCH_OPS: tuple[tuple[str, float], ...] = (("edit", 0.45), ("status", 0.2), ("create", 0.2),
                                               ("attach", 0.15))
# A work order or plan the dispatcher attaches to a job (a small PDF): devices
# on fast links download it after their next sync.
ATTACH_BYTES = 50_000
DISPATCH_STATUSES = ("en_route", "started", "paused", "finished")
# A push socket's read timeout (it then rechecks whether the app is still open
# and online) and the wait before a failed connect is retried.
SOCKET_POLL_S = 0.5
SOCKET_RETRY_S = 1.0


class _State:
    """Process-wide state shared by the users of one Locust process."""

    cfg: LoadConfig | None = None
    taken = 0  # device slots taken by this process
    devices: dict[str, DeviceUser] = {}
    marks: list[dict[str, Any]] = []
    retired: dict[str, int] = {}  # sync triggers of users that stopped
    reported: dict[str, dict[str, int]] = {}  # master: each worker's latest trigger counts
    # Push sockets: when the dispatcher changed (device, record), the delivery
    # latencies seen (ms, a bounded sample), sockets open now and at most, connects.
    # Per (device, record), in order: a record changed twice in a row gets two
    # pushes, each timed from its own change.
    sent: dict[tuple[str, str], deque[float]] = {}
    early: dict[tuple[str, str], deque[float]] = {}  # pushes that arrived before their "sent"
    latencies: list[float] = []
    sockets = 0
    sockets_max = 0
    connects = 0
    pushes = 0
    push_reported: dict[str, dict[str, Any]] = {}  # master: each worker's push figures


STATE = _State()


def configure(cfg: LoadConfig) -> None:
    STATE.cfg = cfg
    STATE.taken = 0
    STATE.devices = {}
    STATE.marks = []
    STATE.retired = {}
    STATE.reported = {}
    STATE.sent = {}
    STATE.early = {}
    STATE.latencies = []
    STATE.sockets = STATE.sockets_max = STATE.connects = STATE.pushes = 0
    STATE.push_reported = {}


# Push latencies kept per process: the first this many (each stats report
# carries them to the master, so the list stays small).
MAX_LATENCIES = 20_000


def _local_push_stats() -> dict[str, Any]:
    return {"sockets_max": STATE.sockets_max, "connects": STATE.connects,
            "pushes": STATE.pushes, "latencies": STATE.latencies}


def push_stats() -> dict[str, Any]:
    """Push figures of this process, or on a master the workers' combined: sockets
    held at most (on a master the sum of each worker's most), connects (first ones and reconnects), pushes received, delivery
    latency p50/p99 in ms (dispatcher change -> device)."""
    parts = list(STATE.push_reported.values()) or [_local_push_stats()]
    lat = sorted(x for p in parts for x in p["latencies"])

    def q(f: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(f * len(lat)))], 1) if lat else None

    return {"sockets_max": sum(p["sockets_max"] for p in parts),
            "connects": sum(p["connects"] for p in parts),
            "pushes": sum(p["pushes"] for p in parts),
            "delivery_p50_ms": q(0.5), "delivery_p99_ms": q(0.99)}


def triggers() -> dict[str, int]:
    """Syncs started by trigger in this process (users running and stopped), or on a
    master the sum of the workers' reports."""
    if STATE.reported:
        return _add({}, *STATE.reported.values())
    return _add(dict(STATE.retired), *(u.dev.triggers for u in STATE.devices.values()))


def _add(into: dict[str, int], *counts: dict[str, int]) -> dict[str, int]:
    for c in counts:
        for k, v in c.items():
            into[k] = into.get(k, 0) + v
    return dict(sorted(into.items()))


def install(environment: Any) -> None:
    """Register the ``config``/``push``/``mark`` message handlers on this process's runner."""
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        def relay(name: str):
            def forward(environment: Any, msg: Any, **_: Any) -> None:
                environment.runner.send_message(name, msg.data)
            return forward

        runner.register_message("push", relay("push"))
        runner.register_message("sent", relay("sent"))
        runner.register_message("mark", _on_mark)

        def worker_report(client_id: str, data: dict, **_: Any) -> None:
            if "sync_triggers" in data:
                STATE.reported[client_id] = data["sync_triggers"]
            if "push_stats" in data:
                STATE.push_reported[client_id] = data["push_stats"]

        environment.events.worker_report.add_listener(worker_report)
        return
    runner.register_message("push", _on_push)
    runner.register_message("sent", _on_sent)
    if isinstance(runner, WorkerRunner):
        # Locust's own channel for custom figures: every stats report carries them.
        def report(client_id: str, data: dict, **_: Any) -> None:
            data["sync_triggers"] = triggers()
            data["push_stats"] = _local_push_stats()

        environment.events.report_to_master.add_listener(report)
        runner.register_message("config", lambda environment, msg, **_: configure(
            LoadConfig.from_dict(msg.data)))
    else:
        runner.register_message("mark", _on_mark)


def _on_mark(environment: Any, msg: Any, **_: Any) -> None:
    STATE.marks.append(msg.data)


def _on_sent(environment: Any, msg: Any, **_: Any) -> None:
    for device, record, t in msg.data:
        if device not in STATE.devices:
            continue
        key = (device, record)
        early = STATE.early.get(key)
        # A push received before this change was made belongs to an untimed one
        # (a job created at set-up, its push queued until the socket opened).
        while early and early[0] < t:
            early.popleft()
        if early:  # the push outran this message (another process's dispatcher)
            _latency(early.popleft() - t)
        else:
            STATE.sent.setdefault(key, deque()).append(t)


def _latency(seconds: float) -> None:
    if len(STATE.latencies) < MAX_LATENCIES:
        STATE.latencies.append(max(0.0, seconds) * 1000.0)


def _on_push(environment: Any, msg: Any, **_: Any) -> None:
    for device, record, reason in msg.data:
        user = STATE.devices.get(device)
        if user is not None:
            user.dev.push(record, reason)
            user.wake.set()


class _Transport:
    __slots__ = ("client",)

    def __init__(self, client: Any) -> None:
        self.client = client

    def request(self, method: str, path: str, *, name: str, headers: dict[str, str],
                data: bytes | None = None) -> Any:
        return self.client.request(method, path, name=name, headers=headers, data=data)


class DeviceLoop(TaskSet):
    """Step the device, then sleep until it is due (or a push wakes it)."""

    def wait_time(self) -> float:
        return self.user.dev.wake_in()

    def _sleep(self, seconds: float) -> None:
        # Locust sleeps with gevent.sleep, which nothing can cut short; a push
        # must, as it does on a phone, so the wait is on the user's event.
        self.user.wake.wait(seconds)
        self.user.wake.clear()

    @task
    def step(self) -> None:
        self.user.dev.step()


class DeviceUser(FastHttpUser):
    """One phone of the fleet, with its own connection to the server."""

    tasks = [DeviceLoop]
    # A phone's sync client gives up after 30 s (the simulator's SYNC_TIMEOUT_S,
    # between OkHttp's 10 s and many sync clients' 30 s).
    network_timeout = 30.0
    connection_timeout = 30.0
    concurrency = 1  # a device does one request at a time

    def on_start(self) -> None:
        cfg = STATE.cfg
        if cfg is None:
            raise RuntimeError("bench.load.users: no configuration (configure() not called)")
        runner = self.environment.runner
        index = STATE.taken
        if isinstance(runner, WorkerRunner):
            # Worker w of W takes slots w, w+W, w+2W... so no two workers share a device.
            index = runner.worker_index + STATE.taken * max(cfg.all_workers, 1)
        STATE.taken += 1
        ids = cfg.device_ids()
        device = ids[index % len(ids)]
        self.wake = Event()
        self.dev = LoadDevice(device=device, token=cfg.tokens[device], cfg=cfg,
                              rng=random.Random(f"{cfg.seed}:{device}"), clock=time.time,
                              transport=_Transport(self.client))
        STATE.devices[device] = self
        self.socket = gevent.spawn(self._push_socket) if cfg.push_sockets else None

    def _push_socket(self) -> None:
        """Hold /v1/push while the app is open and online; each push wakes the device."""
        import websocket

        cfg = STATE.cfg
        url = cfg.host.replace("http", "ws", 1) + f"/v1/push?token={cfg.tokens[self.dev.device]}"
        ws = None
        while True:
            want = self.dev.engine.app != "closed" and not self.dev.outage
            if want and ws is None:
                try:
                    ws = websocket.create_connection(url, timeout=SOCKET_POLL_S)
                except (OSError, websocket.WebSocketException):
                    gevent.sleep(SOCKET_RETRY_S)
                    continue
                STATE.connects += 1
                STATE.sockets += 1
                STATE.sockets_max = max(STATE.sockets_max, STATE.sockets)
            elif not want and ws is not None:
                ws.close()
                ws = None
                STATE.sockets -= 1
            if ws is None:
                gevent.sleep(SOCKET_POLL_S)
                continue
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (OSError, websocket.WebSocketException):
                ws = None  # the server or the link dropped it: reconnect
                STATE.sockets -= 1
                continue
            msg = orjson.loads(frame)
            if msg.get("type") != "push":
                continue
            key = (self.dev.device, msg.get("record"))
            waiting = STATE.sent.get(key)
            if waiting:
                _latency(time.time() - waiting.popleft())
            else:
                STATE.early.setdefault(key, deque()).append(time.time())
            STATE.pushes += 1
            self.dev.push(msg.get("record"), msg.get("reason"))
            self.wake.set()

    def on_stop(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.kill()
        dev = getattr(self, "dev", None)
        if dev is not None and STATE.devices.get(dev.device) is self:
            del STATE.devices[dev.device]
            _add(STATE.retired, dev.triggers)  # adds in place


class DispatcherUser(FastHttpUser):
    """The web application's dispatcher: job changes at a rate, and the burst."""

    fixed_count = 1
    concurrency = BULK_CONCURRENCY

    def on_start(self) -> None:
        cfg = STATE.cfg
        if cfg is None:
            raise RuntimeError("bench.load.users: no configuration (configure() not called)")
        self.cfg = cfg
        self.rng = random.Random(f"{cfg.seed}:dispatcher")
        self.auth = {"Authorization": f"Bearer {cfg.dispatcher_token}",
                     "Content-Type": "application/json"}
        self.ids = cfg.device_ids()
        moments = get_profile(cfg.profile).moments(cfg.duration_s)
        self.burst_at = cfg.epoch + moments["burst"] if "burst" in moments else None
        rate = cfg.dispatch_per_device_h * cfg.devices * cfg.time_scale / 3600.0
        self.mean_gap = 1.0 / rate if rate > 0 else None
        self.next_op = time.time() + (self.rng.expovariate(1.0) * self.mean_gap
                                      if self.mean_gap else float("inf"))
        self.n_new = 0

    def wait_time(self) -> float:
        due = min(self.next_op, self.burst_at or float("inf"))
        return min(max(due - time.time(), 0.0), MAX_WAIT_S)

    @task
    def work(self) -> None:
        now = time.time()
        if self.burst_at is not None and now >= self.burst_at:
            self.burst_at = None
            self.bulk()
        if now >= self.next_op:
            self.next_op = now + self.rng.expovariate(1.0 / self.mean_gap)
            self.one_op()

    def one_op(self) -> None:
        dev = self.ids[int(self.rng.random() * len(self.ids))]
        job = f"job-{dev}-{1 + int(self.rng.random() * self.cfg.jobs_per_device)}"
        x, op = self.rng.random(), DISPATCH_OPS[-1][0]
        for name, w in DISPATCH_OPS:
            x -= w
            if x < 0:
                op = name
                break
        if op == "create":
            self.n_new += 1
            job = f"job-{dev}-d{self.n_new}"
            self._call("POST", "/v1/web/jobs", "POST /v1/web/jobs",
                       {"id": job, "assignee": dev, "fields": {"title": "new job"}}, dev, job,
                       "create")
        elif op == "attach":
            self.n_new += 1
            self.attach(dev, job, f"att-{self.cfg.seed}-{self.n_new}")
        elif op == "status":
            st = DISPATCH_STATUSES[int(self.rng.random() * len(DISPATCH_STATUSES))]
            self._call("POST", f"/v1/web/jobs/{job}/status", "POST /v1/web/jobs/[id]/status",
                       {"status": st}, dev, job, "status")
        else:
            self._call("PATCH", f"/v1/web/jobs/{job}", "PATCH /v1/web/jobs/[id]",
                       {"fields": {"notes": f"edited at {time.time():.0f}"}}, dev, job, "edit")

    def attach(self, dev: str, job: str, fid: str) -> None:
        """Upload a file as the dispatcher, then attach it to ``job`` (docs/protocol.md)."""
        data = self.rng.randbytes(ATTACH_BYTES)
        r = self.client.request("PATCH", f"/v1/files/{fid}/upload",
                                name="PATCH /v1/files/[id]/upload (dispatcher)",
                                headers={**self.auth, "Upload-Offset": "0",
                                         "Content-Type": "application/octet-stream"}, data=data)
        if r.status_code != 200:
            return
        r = self.client.request("POST", f"/v1/files/{fid}/finish",
                                name="POST /v1/files/[id]/finish (dispatcher)", headers=self.auth,
                                data=orjson.dumps({"sha256": hashlib.sha256(data).hexdigest(),
                                                   "bytes": len(data)}))
        if r.status_code == 200:
            self._call("POST", f"/v1/web/jobs/{job}/attach", "POST /v1/web/jobs/[id]/attach",
                       {"file": fid}, dev, job, "attach")

    def bulk(self) -> None:
        """Edit one job of every device, :data:`BULK_CONCURRENCY` at a time."""
        runner = self.environment.runner
        runner.send_message("mark", {"name": "burst_start", "t": time.time()})
        pool = Pool(BULK_CONCURRENCY)
        for dev in self.ids:
            job = f"job-{dev}-1"
            pool.spawn(self._call, "PATCH", f"/v1/web/jobs/{job}", "PATCH /v1/web/jobs/[id]",
                       {"fields": {"notes": "bulk change"}}, dev, job, "edit")
        pool.join()
        runner.send_message("mark", {"name": "burst_end", "t": time.time()})

    def _call(self, method: str, path: str, name: str, body: dict, dev: str, record: str,
              reason: str) -> None:
        if self.cfg.push_sockets:
            # The server pushes during the request: say when the change was made
            # before making it, so the device can time the push it receives.
            self.environment.runner.send_message("sent", [[dev, record, time.time()]])
        r = self.client.request(method, path, name=name, headers=self.auth,
                                data=orjson.dumps(body))
        if 200 <= r.status_code < 300 and not self.cfg.push_sockets:
            self.environment.runner.send_message("push", [[dev, record, reason]])
