"""One direction of one connection: the toxic chain and the FIFO that paces writes.

Theory of operation: ``Stream.feed`` takes what a socket read returned. With
no toxic applying and nothing queued it writes straight through (the fast
path). Otherwise the read becomes chunks stamped with the read time, each
toxic state in creation order moves, cuts, drops or ends them, and they join a
FIFO; one timer per stream, armed for the head's ``ready_at``, writes every
chunk that is due. A chunk with no data is the end of the stream: when it
leaves the FIFO the whole connection closes.

Reading the source is paused while any reason holds (see ``_pause``):
``dial`` (upstream not connected yet), ``dst`` (the destination's buffer is
full), ``queue`` (more than QUEUE_MAX_BYTES waiting), ``hold`` (a slow toxic
asked for it), ``ended`` (the stream is over).
"""

from __future__ import annotations

import asyncio
import collections
import random
from collections.abc import Callable
from typing import Any, Protocol

from bench.link.proxy.toxics import Chunk, Toxic, ToxicState


class Ends(Protocol):
    """What a stream needs of the connection it belongs to (``link.Connection``)."""

    loop: asyncio.AbstractEventLoop

    def close(self) -> None: ...

    def reset(self) -> None: ...

# Upstream cuts reads into chunks of at most 32 KiB ("Each socket read
# (≤ 32 KiB) becomes a chunk"). asyncio's transports read up to 256 KiB at a
# time, which the fast path forwards whole; with toxics a read is cut into
# chunks of this size, all stamped with the read's time.
CHUNK_SIZE = 32 * 1024
# Bound on bytes a stream may hold in its queue before it stops reading the
# source. Upstream bounds the latency toxic to 1024 chunks; 4 MiB keeps a
# 10 MB/s stream behind 400 ms of latency at full speed.
QUEUE_MAX_BYTES = 4 * 1024 * 1024
# Timers are armed this much before a chunk's time and release chunks due
# within it. epoll waits whole milliseconds, rounded up, so an exact timer
# fires 0-1 ms late (0.5 ms on average, per direction); centring the window
# keeps chunks within about ±0.5 ms of their time without spinning the loop.
TIMER_SLACK_S = 0.0005


class Counter:
    """Bytes one proxy has received from sources and sent to destinations, per stream."""

    __slots__ = ("received", "sent")

    def __init__(self) -> None:
        self.received = 0
        self.sent = 0


class _Entry:
    __slots__ = ("toxic", "state", "applies")

    def __init__(self, toxic: Toxic, state: ToxicState, applies: bool) -> None:
        self.toxic = toxic
        self.state = state
        self.applies = applies


class Stream:
    """One direction of one connection, with its toxic chain and output queue."""

    __slots__ = (
        "conn", "name", "src", "dst", "counter", "rng", "loop", "entries", "active",
        "queue", "queued", "timer", "paused", "hold_timer", "hold_until", "ended",
        "opened_at", "fresh",
    )

    def __init__(self, conn: Ends, name: str, counter: Counter, rng: random.Random) -> None:
        self.conn = conn
        self.name = name
        self.src: asyncio.Transport | None = None
        self.dst: asyncio.Transport | None = None
        self.counter = counter
        self.rng = rng
        self.loop = conn.loop
        self.entries: list[_Entry] = []
        self.active: list[ToxicState] = []
        self.queue: collections.deque[Chunk] = collections.deque()
        self.queued = 0
        self.timer: asyncio.TimerHandle | None = None
        self.paused: set[str] = set()
        self.hold_timer: asyncio.TimerHandle | None = None
        self.hold_until = 0.0
        self.ended = False
        self.opened_at = self.loop.time()  # made when the connection is accepted
        self.fresh = True

    # -- StreamControl, for toxic states ------------------------------------
    def now(self) -> float:
        return self.loop.time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_later(delay, callback)

    def close(self) -> None:
        self.conn.close()

    def reset(self) -> None:
        self.conn.reset()

    def hold(self, until: float) -> None:
        if until <= self.hold_until:
            return
        self.hold_until = until
        self._pause("hold")
        if self.hold_timer is not None:
            self.hold_timer.cancel()
        self.hold_timer = self.loop.call_at(until, self._end_hold)

    def _end_hold(self) -> None:
        self.hold_timer = None
        self._resume("hold")

    # -- toxic chain ---------------------------------------------------------
    def attach(self, toxic: Toxic) -> None:
        """Put a toxic at the end of the chain (creation order) for this connection."""
        state = toxic.settings.new_state(self)
        # One draw per attachment, whatever the toxicity, keeps the seeded
        # sequence independent of the values: 0 never applies, 1 always does.
        applies = self.rng.random() < toxic.toxicity
        self.entries.append(_Entry(toxic, state, applies))
        if applies:
            state.start()
        self._rebuild()

    def detach(self, toxic: Toxic) -> None:
        for i, entry in enumerate(self.entries):
            if entry.toxic is toxic:
                del self.entries[i]
                self._rebuild()
                if entry.applies:
                    entry.state.stop()
                entry.state.release()
                return

    def update(self, toxic: Toxic, old_settings: Any, toxicity_changed: bool) -> None:
        for entry in self.entries:
            if entry.toxic is not toxic:
                continue
            entry.state.settings = toxic.settings
            if toxicity_changed:
                applies = self.rng.random() < toxic.toxicity
                if applies and not entry.applies:
                    entry.state.start()
                elif entry.applies and not applies:
                    entry.state.release()
                entry.applies = applies
            elif entry.applies:
                entry.state.updated(old_settings)
            self._rebuild()
            return

    def _rebuild(self) -> None:
        self.active = [e.state for e in self.entries if e.applies]

    # -- data in ---------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        n = len(data)
        self.fresh = False
        self.counter.received += n
        if self.ended:
            return
        if not self.active and not self.queue:
            self.dst.write(data)
            self.counter.sent += n
            return
        now = self.loop.time()
        if n <= CHUNK_SIZE:
            chunks = [Chunk(data, now)]
        else:
            chunks = [Chunk(data[i:i + CHUNK_SIZE], now) for i in range(0, n, CHUNK_SIZE)]
        for state in self.active:
            out: list[Chunk] = []
            for c in chunks:
                if c.data is None:
                    c.ready_at = state.eof(c.ready_at)
                    out.append(c)
                else:
                    out.extend(state.data(c))
            chunks = out
            if not chunks:
                return
        self._enqueue(chunks)

    def feed_eof(self) -> None:
        if self.ended:
            return
        at = self.loop.time()
        for state in self.active:
            at = state.eof(at)
        self._enqueue([Chunk(None, at)])

    def _enqueue(self, chunks: list[Chunk]) -> None:
        queue = self.queue
        for c in chunks:
            queue.append(c)
            if c.data is None:
                self.ended = True
                self._pause("ended")
                break
            self.queued += len(c.data)
        if self.queued > QUEUE_MAX_BYTES:
            self._pause("queue")
        self._flush()

    # -- data out --------------------------------------------------------------
    def _flush(self) -> None:
        self.timer = None
        queue = self.queue
        now = self.loop.time() + TIMER_SLACK_S
        dst, counter = self.dst, self.counter
        while queue and queue[0].ready_at <= now:
            c = queue.popleft()
            if c.data is None:
                self.conn.close()
                return
            dst.write(c.data)
            n = len(c.data)
            self.queued -= n
            counter.sent += n
        if queue:
            self._arm(queue[0].ready_at)
        if "queue" in self.paused and self.queued <= QUEUE_MAX_BYTES // 2:
            self._resume("queue")

    def _arm(self, when: float) -> None:
        timer = self.timer
        if timer is not None:
            if timer.when() <= when - TIMER_SLACK_S:
                return
            timer.cancel()
        self.timer = self.loop.call_at(when - TIMER_SLACK_S, self._flush)

    # -- reading the source --------------------------------------------------
    def _pause(self, reason: str) -> None:
        if not self.paused and self.src is not None:
            self.src.pause_reading()
        self.paused.add(reason)

    def _resume(self, reason: str) -> None:
        if reason not in self.paused:
            return
        self.paused.discard(reason)
        if not self.paused and self.src is not None and not self.src.is_closing():
            self.src.resume_reading()

    def dst_full(self) -> None:
        self._pause("dst")

    def dst_drained(self) -> None:
        self._resume("dst")

    def release(self) -> None:
        for timer in (self.timer, self.hold_timer):
            if timer is not None:
                timer.cancel()
        self.timer = self.hold_timer = None
        for entry in self.entries:
            entry.state.release()
        self.entries.clear()
        self.active = []
        self.queue.clear()
