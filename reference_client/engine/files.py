"""File transfers: photo uploads and attachment downloads, side by side.

Theory of operation: the queues live in the store (``uploads`` before
``downloads``: the user's own photos first, since a photo change is acked only
after its upload completes and the change referencing it is synced).
``_pump_files`` starts every waiting file whenever the device is running and
the link allows it (``policy.max_transfers``: no cap by default), so no large
file holds another back past rules.md ``files_s``; transfers share the link
anyway, so a queue would only reorder them. The link rules:

- Planado: "on slow internet connection (2G, EDGE, GPRS) ... application won't
  upload photos ... and won't download any attached files", and "Files
  exchange ... will begin as soon as you connect to faster network". So no
  transfer starts on a slow link, and those in progress are aborted the moment
  the link turns slow (rules.md planado.slow_no_files: ``file_end`` within
  ``slow_abort_s``; the engine emits it at once).
- An aborted or failed transfer keeps the bytes it moved (``done``) and
  resumes from there; a failure (not a link change) waits ``file_retry_s``.
- When an upload completes, its photo change becomes sendable and the engine
  wishes a ``file`` sync so the change is acked soon.

This module is a mixin of :class:`reference_client.engine.core.Engine`; it
shares the engine's state and its ``_emit``/``_out``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reference_client.engine.actions import AbortTransfer, StartTransfer
from reference_client.engine.inputs import FileDone, FileProgress
from reference_client.engine.store import Transfer
from reference_client.engine.vocab import CLOSED, DOWN, OFFLINE, UP, WIFI, is_slow

if TYPE_CHECKING:
    from reference_client.engine.core import Engine as _Base
else:
    _Base = object


class FilesMixin(_Base):
    def _can_transfer(self) -> bool:
        p, link = self.policy, self._link
        if self._run == CLOSED or link == OFFLINE:
            return False
        if is_slow(link) and not p.files_on_slow:
            return False
        return not (p.files_wifi_only and link != WIFI)

    def _queued(self) -> list[Transfer]:
        """Files waiting to move, in order: the user's photos, then attachments."""
        store = self.store
        waiting = list(store.uploads.values())
        if not self._downloads_stalled:
            waiting += store.downloads.values()
        return [t for t in waiting if (t.file, t.dir) not in self._active]

    def _pump_files(self) -> None:
        if not self._can_transfer():
            return
        if self._file_retry_at is not None and self._file_retry_at > self._now:
            return
        self._file_retry_at = None
        cap = self.policy.max_transfers
        waiting = self._queued()
        if cap is not None:
            waiting = waiting[:max(cap - len(self._active), 0)]
        for nxt in waiting:
            self._active[(nxt.file, nxt.dir)] = nxt
            self._emit("file_start", file=nxt.file, dir=nxt.dir, bytes=nxt.bytes)
            self._out.append(StartTransfer(file=nxt.file, dir=nxt.dir, bytes=nxt.bytes,
                                           offset=nxt.done, record=nxt.record,
                                           sha256=nxt.sha256))

    def _check_transfer_allowed(self) -> None:
        """Abort the transfers in progress if the link no longer allows them."""
        if self._active and not self._can_transfer():
            self._abort_transfers()

    def _abort_transfers(self) -> None:
        for a in list(self._active.values()):
            self._abort_transfer(a)

    def _abort_transfer(self, a: Transfer) -> None:
        del self._active[(a.file, a.dir)]
        self._emit("file_end", file=a.file, dir=a.dir, ok=False, bytes=a.done)
        self._out.append(AbortTransfer(file=a.file, dir=a.dir))
        self._stall_if_mutant(a)

    def _stall_if_mutant(self, a: Transfer) -> bool:
        """Mutant files_never_resume: a cut download stalls every download after it."""
        if a.dir == DOWN and not self.policy.resume_downloads:
            self._downloads_stalled = True
            return True
        return False

    def _on_file_progress(self, inp: FileProgress) -> None:
        a = self._active.get((inp.file, inp.dir))
        if a is not None:
            a.done = max(a.done, min(inp.bytes, a.bytes))

    def _on_file_done(self, inp: FileDone) -> None:
        a = self._active.pop((inp.file, inp.dir), None)
        if a is None:
            return  # a transfer the engine already aborted: its file_end is out
        store = self.store
        if not inp.ok:
            if inp.bytes is not None:
                a.done = max(a.done, min(inp.bytes, a.bytes))
            self._emit("file_end", file=a.file, dir=a.dir, ok=False, bytes=a.done,
                       error=inp.error)
            if not self._stall_if_mutant(a):
                self._file_retry_at = self._now + self.policy.file_retry_s
            return
        self._emit("file_end", file=a.file, dir=a.dir, ok=True,
                   bytes=inp.bytes if inp.bytes is not None else a.bytes)
        if a.dir == UP:
            store.uploads.pop(a.file, None)
            store.have_files.append(a.file)  # the server will list it: no download back
            for c in store.outbox.values():
                if c.file is not None and c.file.get("id") == a.file:
                    c.uploaded = True
            self._wish("file")
        else:
            store.downloads.pop(a.file, None)
            store.have_files.append(a.file)

    def _queue_downloads(self, files: tuple, removed: tuple[str, ...]) -> None:
        store = self.store
        for f in files:
            if f.id not in store.have_files and f.id not in store.downloads:
                store.downloads[f.id] = Transfer(file=f.id, dir=DOWN, record=f.record,
                                                 bytes=f.bytes, sha256=f.sha256)
        gone = set(removed)
        for fid, t in list(store.downloads.items()):
            if t.record in gone:  # the record left the device's scope
                if (fid, DOWN) in self._active:
                    self._abort_transfer(t)
                store.downloads.pop(fid, None)
