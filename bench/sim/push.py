"""The push service: FCM-like delivery of the server's pushes to phones.

Theory of operation: the server hands a push to the service at ``t`` (it has
already written ``srv_push``); the service delivers it after a delay drawn from
``delay`` (a :class:`~bench.scenario.model.Dist`, with the injected RNG)::

    srv_push(t) ──delay──> phone online?  yes ──> engine PushReceived (trace `push`)
                                          no  ──> ttl_s > 0: stored, delivered on
                                                  reconnect if not expired; else dropped

Nothing reaches an offline device (Planado: "In the offline mode ... you also
won't receive push-notifications"). By default a push to an offline phone is
dropped (``ttl_s`` 0); with ``ttl_s`` > 0 the service stores and forwards it
as FCM does with a message's ``time_to_live``, delivering it when the phone
is next online and the time to live has not run out. A phone with
notifications turned off never sees a push. Server-side mutants
(:mod:`bench.scenario.mutants`) drop every push or deliver to offline phones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.scenario.model import Dist
from bench.scenario.mutants import TRUE_SERVER, ServerMutant
from bench.sim.ports import SimDevice


class PushService:
    def __init__(self, *, delay: Dist, ttl_s: float, rng: Any,
                 later: Callable[..., None], mutant: ServerMutant = TRUE_SERVER) -> None:
        self.delay = delay
        self.ttl_s = ttl_s
        self._rng = rng
        self._later = later
        self.mutant = mutant
        self.n_sent = 0
        self.n_delivered = 0
        self.n_dropped = 0

    def send(self, now: float, device: SimDevice, record: str, reason: str | None) -> None:
        self.n_sent += 1
        if self.mutant.push_drop:
            self.n_dropped += 1
            return
        self._later(self.delay.sample(self._rng), self._arrive, device, record, reason, now)

    def _arrive(self, device: SimDevice, record: str, reason: str | None, sent_at: float) -> None:
        if device.push(record, reason, sent_at, self.ttl_s, force=self.mutant.push_to_offline):
            self.n_delivered += 1
        else:
            self.n_dropped += 1
