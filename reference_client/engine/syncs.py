"""Sync attempts: starting one, and taking in its answer or its failure.

Theory of operation: ``_wish`` applies the reaction table (``table.py``): a
wish either starts a sync at once, becomes the pending follow-up, or is
covered by the sync in flight. ``_start_sync`` builds the request from the
outbox — every unsent change, in the order made, photos once their file is up
("During sync Planado updates all the changes in the jobs with the server") —
and an upload-only sync with nothing to send does not start. An answer acks
changes (each at most once: "a change id seen before is acknowledged again ...
never applied twice"), stores server records unless the sync was upload-only,
moves the cursor, queues attachment downloads and re-arms the timer. A failure
re-arms a bounded backoff instead; the outbox keeps the same change ids, so
the retry cannot apply a change twice.

This module is a mixin of :class:`reference_client.engine.core.Engine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from reference_client.engine import inputs as I  # noqa: N812
from reference_client.engine.actions import StartSync
from reference_client.engine.store import Change, LocalRecord
from reference_client.engine.table import MODE_COVERS, REACTIONS, merge
from reference_client.engine.vocab import DOWNLOAD_ONLY, UPLOAD_ONLY, is_slow

if TYPE_CHECKING:
    from reference_client.engine.core import Engine as _Base
else:
    _Base = object

# Backoff doubling stops here (5 s * 2**16 is far past any cap), so a device
# failing for days never overflows a float.
MAX_BACKOFF_DOUBLINGS = 16


@dataclass(slots=True)
class _InFlight:
    id: str
    trigger: str
    mode: str
    sent: tuple[str, ...]


class SyncsMixin(_Base):
    def _sendable(self) -> list[Change]:
        hold = self.policy.hold_young_s
        return [c for c in self.store.outbox.values()
                if c.uploaded and (hold <= 0 or c.t <= self._now - hold)]

    def _wish(self, name: str) -> None:
        """A reaction wants a sync (table.py): start it, remember it, or drop it."""
        r = REACTIONS[name]
        mode = getattr(self.policy, r.knob)
        if mode is None or not self._can_sync():
            return
        if self._sync is None:
            self._start_sync(r.trigger, mode)
        elif r.strict or mode not in MODE_COVERS[self._sync.mode]:
            self._pending = merge(self._pending, (r.trigger, mode))

    def _start_sync(self, trigger: str, mode: str) -> None:
        changes = [] if mode == DOWNLOAD_ONLY else self._sendable()
        if mode == UPLOAD_ONLY and not changes:
            return  # nothing to upload: an upload-only sync would be empty
        if self._pending is not None and self._pending[1] in MODE_COVERS[mode]:
            self._pending = None
        self._n_sync += 1
        sid = f"{self.device}-s{self._n_sync}"
        self._auto = None  # re-armed when this sync ends
        self._emit("sync_start", sync=sid, trigger=trigger)
        if not self.policy.sync_on_slow and is_slow(self._link):
            self._emit("sync_end", sync=sid, ok=False, error="deferred: slow link")
            self._after_failure(())
            return
        sent = tuple(c.change for c in changes)
        self._sync = _InFlight(id=sid, trigger=trigger, mode=mode, sent=sent)
        request = {"device": self.device, "cursor": self.store.cursor, "mode": mode,
                   "changes": [c.wire() for c in changes]}
        self._out.append(StartSync(sync=sid, trigger=trigger, mode=mode, request=request))

    def _arm_timer(self) -> None:
        p = self.policy
        if p.timer_s is None:
            self._auto = None
            return
        # "every 2 minutes", plus a few seconds of jitter so a fleet spreads out.
        at = self._now + p.timer_s + self._jitter(-p.timer_jitter_s, p.timer_jitter_s)
        self._auto = (at, "timer", p.timer_mode)

    def _after_failure(self, sent: tuple[str, ...]) -> None:
        p = self.policy
        self._failures += 1
        if p.last_sync_on_failure:
            self._last_ok = self._now
        if not p.retry_same_ids and sent:
            renamed: dict[str, Change] = {}
            for cid, c in self.store.outbox.items():
                if cid in sent:
                    c.change = self._next_change_id()
                renamed[c.change] = c
            self.store.outbox = renamed
        # Bounded backoff, never later than the regular timer (planado.cadence
        # counts failed attempts as syncs, so a retry is an idle-clock reset).
        doublings = min(self._failures - 1, MAX_BACKOFF_DOUBLINGS)
        delay = min(p.retry_base_s * 2**doublings, p.retry_max_s)
        if p.timer_s is not None:
            delay = min(delay, p.timer_s)
        delay += self._jitter(0.0, delay / 10)
        self._auto = (self._now + delay, "retry", p.retry_mode)

    def _on_sync_response(self, inp: I.SyncResponse) -> None:
        s = self._sync
        if s is None or inp.sync != s.id:
            return  # an answer to a sync the engine abandoned
        self._sync = None
        store, p = self.store, self.policy
        for ack in inp.acks:
            change = store.outbox.pop(ack.change, None)
            if change is None:
                continue  # acked before: "acknowledged again ... never applied twice"
            self._emit("ack", change=ack.change)
            rec = store.records.get(ack.record)
            if rec is None:
                if change.base_version is not None:
                    continue  # the record left the device's scope meanwhile
                rec = store.records[ack.record] = LocalRecord(version=None)
            if rec.version is None or ack.version > rec.version:
                rec.version = ack.version
        if s.mode != UPLOAD_ONLY:
            if p.store_records:
                self._store_records(inp, s.id)
            if inp.cursor is not None:
                store.cursor = inp.cursor
            self._queue_downloads(inp.files, inp.removed)
        self._emit("sync_end", sync=s.id, ok=True)
        self._failures = 0
        self._last_ok = self._now  # "the time of the last successful synchronization"
        self._arm_timer()

    def _store_records(self, inp: I.SyncResponse, sid: str) -> None:
        records = self.store.records
        limit = self.policy.pull_limit
        for r in inp.records if limit is None else inp.records[:limit]:
            local = records.get(r.id)
            if local is not None and local.version is not None and r.version < local.version:
                continue  # an older copy than the one an ack already gave us
            if local is None or local.version != r.version:
                self._emit("recv", record=r.id, version=r.version, sync=sid)
            records[r.id] = LocalRecord(version=r.version, fields=dict(r.fields),
                                        assignee=r.assignee, type=r.type)
        for rid in inp.removed:
            records.pop(rid, None)

    def _on_sync_failed(self, inp: I.SyncFailed) -> None:
        s = self._sync
        if s is None or inp.sync != s.id:
            return
        self._sync = None
        self._emit("sync_end", sync=s.id, ok=False, error=inp.error)
        self._after_failure(s.sent)
