"""The driver's I/O tasks: one sync request, one file transfer, link measurement.

Theory of operation: each ``StartSync`` and ``StartTransfer`` the engine asks
for runs as its own asyncio task, and ends by feeding the engine exactly one
answer (``SyncResponse``/``SyncFailed``, ``FileDone``) through the driver's
``_feed``; a task the engine aborted is cancelled and feeds nothing (the
engine already wrote its ``sync_end``/``file_end``). Network failures become
failed answers with a short ``error`` for the trace (``network``, ``http 409``).

The engine may start every waiting file at once; the driver lets at most
``FILE_CONNECTIONS`` (OkHttp's 5 per host) move at a time and queues the
rest, so a day with fifty attachments does not open fifty connections.

Refused changes (protocol: an ack with ``"version": null, "error": ...`` is
"refused, not saved") are taken out of the answer before the engine sees it,
since the engine's ``Ack`` wants a version; the driver drops them from the
outbox and the store keeps them in its ``refused`` table.

With ``measure_link``, every transfer large enough to measure is a throughput
sample (``throughput.py``); a Wi-Fi link measured below 550 kbps is reported
to the engine as ``edge`` for ``MEASURED_SLOW_HOLD_S``, after which the device
trusts the OS again and the next transfer measures anew.

This module is a mixin of :class:`reference_client.client.app.DeviceClient`.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reference_client import engine as E  # noqa: N812
from reference_client.client import files
from reference_client.client.api import ApiError, NetworkError

if TYPE_CHECKING:
    from reference_client.client.app import DeviceClient as _Base
else:
    _Base = object

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


class TransfersMixin(_Base):
    _warned = False  # the one "server refused the sync" message was printed

    async def _run_sync(self, a: E.StartSync) -> None:
        cfg = self.config
        try:
            body = await self.api.sync(a.request, timeout_s=cfg.wall_timeout(cfg.sync_timeout_s))
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
