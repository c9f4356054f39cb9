"""The load device: one sans-I/O engine carried out over real HTTP, in wall time.

Theory of operation: a :class:`LoadDevice` owns a ``reference_client`` engine,
the person using it (``bench.scenario.people.workday``, the load preset),
and the profile's moments.
It knows no Locust: HTTP goes through an injected :class:`Transport` (the
Locust user's ``FastHttpSession`` in a load run, anything with the same
``request`` method in a test), the wall clock is an injected callable::

    Locust user loop:  step() ──> due inputs ──> engine.handle ──> actions
                         ^                                          │ StartSync: POST /v1/sync
                         │                                          │ StartTransfer: PATCH/finish, GET
          wait(wake_in()) <── next_deadline, next act, next moment <┘ answers fed back at once

Spec time is ``now = (wall - epoch) * time_scale`` (docs/engine.md: "a
real-time driver at time scale K multiplies elapsed wall seconds by K ... and
sleeps (deadline - now) / K wall seconds for a timer"); it never goes back
even if the wall clock does. Requests run one after another in the device's
own greenlet, so a sync's answer is fed before anything else happens to the
engine; ``AbortSync``/``AbortTransfer`` therefore never find work in flight.
Pushes come from outside (:meth:`push`) and are fed at the next step.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from bench.draw import weighted
from bench.load.behaviour import OUTAGE_ACTS, Person, load_behaviour, photo_bytes
from bench.load.config import LoadConfig
from bench.load.profiles import get_profile
from bench.scenario.people import workday
from reference_client import (
    AppChanged,
    Emit,
    Engine,
    FileDone,
    LinkChanged,
    ManualSync,
    PushReceived,
    StartSync,
    StartTransfer,
    SyncFailed,
    SyncResponse,
    Tick,
    UserEdit,
    get_policy,
)

# Longest wall sleep between steps: a device rechecks the run state this often
# even when nothing is due (pushes wake it earlier through the user's event).
MAX_WAIT_S = 5.0


class Reply(Protocol):
    status_code: int
    content: bytes | None


class Transport(Protocol):
    def request(self, method: str, path: str, *, name: str, headers: dict[str, str],
                data: bytes | None = None) -> Reply: ...


def pick_link(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    return weighted(mix, rng)


class _View:
    """The person's view of the load device's phone (bench.scenario.people.PhoneView)."""

    __slots__ = ("_engine",)

    def __init__(self, engine: Any) -> None:
        self._engine = engine

    @property
    def app(self) -> str:
        return self._engine.app

    def jobs(self) -> list[str]:
        return sorted(r for r, v in self._engine.records().items() if v is not None)


class LoadDevice:
    """One device of the fleet; call :meth:`step` when :meth:`wake_in` says."""

    def __init__(self, *, device: str, token: str, cfg: LoadConfig, rng: random.Random,
                 clock: Callable[[], float], transport: Transport) -> None:
        self.device = device
        self.cfg = cfg
        self.rng = rng
        self.clock = clock
        self.http = transport
        self.auth = {"Authorization": f"Bearer {token}"}
        self._json = {**self.auth, "Content-Type": "application/json"}
        self._last = 0.0
        self.outage = False  # inside a storm's offline window
        now = self.now()
        policy = get_policy(cfg.policy)
        self.engine = Engine(device=device, policy=policy, rng=rng, start=now)
        self.person = Person(rng=rng, photo_size=cfg.photo_bytes)
        self.link_class = pick_link(rng, cfg.link_mix)
        k = cfg.time_scale
        profile = get_profile(cfg.profile)
        moments = {name: off * k for name, off in profile.moments(cfg.duration_s).items()}
        # The person is the one person model (bench.scenario.people.workday) with
        # the load preset; its opens spread over one cadence period so timer
        # syncs spread over it too. The OS reports the link first.
        period = policy.timer_s or cfg.act_mean_s
        self.day = workday(device, load_behaviour(cfg.act_mean_s, cfg.photo_bytes, period), rng,
                           _View(self.engine), start=now)
        self.plan: list[tuple[float, str]] = [(now, "link"), (self._next_at(), "person")]
        if "offline" in moments:
            off, on = moments["offline"], moments["reconnect"]
            if now < on:
                self.plan.append((max(off, now), "offline"))
                self.plan += [(rng.uniform(max(off, now), on), "outage_edit")
                              for _ in range(profile.offline_edits)]
                self.plan.append((on, "reconnect"))
        self.plan.sort()
        self.pushes: deque[tuple[str, str | None]] = deque()
        self.events: dict[str, int] = {}  # trace events emitted, by `ev`
        self.triggers: dict[str, int] = {}  # syncs started, by trigger
        self.syncs_ok = 0
        self.syncs_failed = 0

    # ---- time ------------------------------------------------------------------

    def now(self) -> float:
        t = (self.clock() - self.cfg.epoch) * self.cfg.time_scale
        if t < self._last:  # the wall clock stepped back: spec time must not
            t = self._last
        self._last = t
        return t

    def wake_in(self) -> float:
        """Wall seconds until something is due (0: step now)."""
        due = [t for t, _ in self.plan[:1]]
        if self.engine.next_deadline is not None:
            due.append(self.engine.next_deadline)
        if self.pushes:
            return 0.0
        if not due:
            return MAX_WAIT_S
        wait = (min(due) - self.now()) / self.cfg.time_scale
        return min(max(wait, 0.0), MAX_WAIT_S)

    # ---- inputs ------------------------------------------------------------------

    def push(self, record: str, reason: str | None = None) -> None:
        """A push for this device arrived (relayed by the dispatcher's process)."""
        self.pushes.append((record, reason))

    def step(self) -> None:
        """Feed everything due by now, carrying out the actions as they come."""
        now = self.now()
        while self.plan and self.plan[0][0] <= now:
            _, what = self.plan.pop(0)
            self._do(what, now)
            now = self.now()
        while self.pushes:
            record, reason = self.pushes.popleft()
            self.feed(PushReceived(now=self.now(), record=record, reason=reason))
        deadline = self.engine.next_deadline
        if deadline is not None and deadline <= self.now():
            self.feed(Tick(now=self.now()))

    def _next_at(self) -> float:
        op = next(self.day)
        assert op[0] == "at", op
        return op[1]

    def _person(self) -> None:
        """The person's acts now due, up to their next wait (then scheduled)."""
        for op in self.day:
            kind = op[0]
            if kind == "at":
                self.plan.append((op[1], "person"))
                self.plan.sort()
                return
            now = self.now()
            if kind == "app":
                self.feed(AppChanged(now=now, state=op[1]))
            elif kind == "manual":
                self.feed(ManualSync(now=now, via=op[1]))
            else:
                _, record, what, status, text, nbytes = op
                if what == "photo":
                    data, sha = photo_bytes(self.rng, nbytes)
                    self.person.photos[sha] = data
                    self.feed(UserEdit(now=now, record=record, kind="photo", bytes=len(data),
                                       sha256=sha))
                elif what == "status":
                    self.feed(UserEdit(now=now, record=record, kind="status", status=status))
                else:
                    self.feed(UserEdit(now=now, record=record, kind="text",
                                       fields={"notes": text}))

    def _do(self, what: str, now: float) -> None:
        if what == "link":
            self.feed(LinkChanged(now=now, link_class=self._link_now()))
        elif what == "person":
            self._person()
        elif what == "offline":
            self.outage = True
            self.feed(LinkChanged(now=now, link_class="offline"))
        elif what == "reconnect":
            self.outage = False
            self.feed(LinkChanged(now=now, link_class=self.link_class))
        elif what == "outage_edit":
            if self.engine.app != "closed":
                inp = self.person.act(now, self.engine.records(), OUTAGE_ACTS)
                if inp is not None:
                    self.feed(inp)

    def _link_now(self) -> str:
        return "offline" if self.outage else self.link_class

    def feed(self, inp: Any) -> None:
        todo = deque(self.engine.handle(inp))
        while todo:
            a = todo.popleft()
            if isinstance(a, Emit):
                ev = a.event["ev"]
                self.events[ev] = self.events.get(ev, 0) + 1
            elif isinstance(a, StartSync):
                self.triggers[a.trigger] = self.triggers.get(a.trigger, 0) + 1
                todo.extend(self.engine.handle(self._sync(a)))
            elif isinstance(a, StartTransfer):
                todo.extend(self.engine.handle(self._transfer(a)))
            # SetTimer: next_deadline is read from the engine; Show*: nobody looks;
            # Abort*: nothing is ever in flight here (see the module docstring).

    # ---- HTTP ----------------------------------------------------------------------

    def _sync(self, a: StartSync) -> Any:
        r = self.http.request("POST", "/v1/sync", name="POST /v1/sync", headers=self._json,
                              data=orjson.dumps(a.request))
        if r.status_code == 200 and r.content:
            self.syncs_ok += 1
            return SyncResponse.from_json(now=self.now(), sync=a.sync, body=orjson.loads(r.content))
        self.syncs_failed += 1
        return SyncFailed(now=self.now(), sync=a.sync, error=f"HTTP {r.status_code}")

    def _transfer(self, a: StartTransfer) -> FileDone:
        path = f"/v1/files/{a.file}"
        if a.dir == "down":
            headers = dict(self.auth)
            if a.offset:
                headers["Range"] = f"bytes={a.offset}-"
            r = self.http.request("GET", path, name="GET /v1/files/[id]", headers=headers)
            ok = r.status_code in (200, 206)
            return FileDone(now=self.now(), file=a.file, dir="down", ok=ok,
                            bytes=a.bytes if ok else None,
                            error=None if ok else f"HTTP {r.status_code}")
        data = self.person.photos.get(a.sha256 or "")
        if data is None:  # a photo from before this process: nothing to send
            return FileDone(now=self.now(), file=a.file, dir="up", ok=False, error="no bytes")
        offset = a.offset
        r = self.http.request("PATCH", path + "/upload", name="PATCH /v1/files/[id]/upload",
                              headers={**self.auth, "Upload-Offset": str(offset),
                                       "Content-Type": "application/octet-stream"},
                              data=data[offset:])
        if r.status_code == 200:
            r = self.http.request("POST", path + "/finish", name="POST /v1/files/[id]/finish",
                                  headers=self._json,
                                  data=orjson.dumps({"sha256": a.sha256, "bytes": len(data)}))
        ok = r.status_code == 200
        if ok:
            del self.person.photos[a.sha256 or ""]
        return FileDone(now=self.now(), file=a.file, dir="up", ok=ok,
                        bytes=len(data) if ok else None,
                        error=None if ok else f"HTTP {r.status_code}")
