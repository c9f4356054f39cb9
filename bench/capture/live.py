"""mitmproxy as a library: the capture proxy's listeners, in this process.

Theory of operation
-------------------
One mitmproxy master serves every :class:`Route`: a listener the app (or one
device) connects to, the server it forwards to, and the link proxy its
server connections cross (``via``)::

    app ──► listener (mitmproxy: TLS, HTTP, WS) ──► via: link proxy ──► server
                 │ CaptureAddon
                 └─► HAR entry per flow ──► flows.jsonl (appended at once)

``reverse`` routes forward everything to their ``upstream`` URL (the app is
pointed at the listener); a ``regular`` route is an ordinary HTTP(S) proxy
(the phone's Wi-Fi proxy setting) and every server connection is routed
through the link proxy ``via_for`` gives for its host. :class:`LiveCapture`
runs on the caller's event loop; :class:`CaptureThread` runs one on a loop
of its own, for callers that are not async (the tests, the runner).
mitmproxy's CA lives in ``confdir`` (default ``~/.mitmproxy``): the
certificate to install on a phone is ``mitmproxy-ca-cert.pem`` there.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.capture.addon import Address, CaptureAddon
from bench.capture.errors import CaptureError
from bench.capture.har import MAX_ENTRIES

MODES = ("reverse", "regular")
START_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    listen: Address
    upstream: str | None = None  # reverse mode: the server's base URL
    via: Address | None = None   # the link proxy its server connections cross
    mode: str = "reverse"

    def spec(self) -> str:
        host, port = self.listen
        if self.mode == "regular":
            return f"regular@{host}:{port}"
        return f"reverse:{self.upstream}@{host}:{port}"


class LiveCapture:
    """mitmproxy with a :class:`CaptureAddon` on the running loop; see the module docs."""

    def __init__(self, routes: list[Route], *, confdir: str | Path | None = None,
                 flows: str | Path | None = None, insecure_upstream: bool = False,
                 via_for: Callable[[Address], Awaitable[Address | None]] | None = None,
                 max_entries: int = MAX_ENTRIES, mitmproxy_har: str | Path | None = None) -> None:
        if not routes:
            raise CaptureError("a capture needs at least one listener")
        for r in routes:
            if r.mode not in MODES:
                raise CaptureError(f"mode must be one of {', '.join(MODES)}, got {r.mode!r}")
            if r.mode == "reverse" and not r.upstream:
                raise CaptureError("a reverse-proxy listener needs --upstream")
        self.routes = routes
        self.confdir = str(Path(confdir).expanduser()) if confdir else str(Path("~/.mitmproxy").expanduser())
        self.flows_path = Path(flows) if flows else None
        self.insecure = insecure_upstream
        self.via_for = via_for
        self.max_entries = max_entries
        # mitmproxy's own HAR export (its savehar addon, written at shutdown):
        # a HAR as a team would export it, beside the capture's own.
        self.mitmproxy_har = str(mitmproxy_har) if mitmproxy_har else ""
        self.entries: list[dict[str, Any]] = []
        self.dropped = 0
        self.addresses: list[Address] = []
        self._file: Any = None
        self._master: Any = None
        self._task: asyncio.Task | None = None
        self.addon: CaptureAddon | None = None
        self.changed: asyncio.Event | None = None  # made on the loop in start()

    def _sink(self, entry: dict[str, Any]) -> None:
        if len(self.entries) >= self.max_entries:
            self.dropped += 1
            return
        self.entries.append(entry)
        if self._file is not None:
            self._file.write(json.dumps(entry, separators=(",", ":")) + "\n")
            self._file.flush()
        if self.changed is not None:
            self.changed.set()

    async def start(self) -> list[Address]:
        from mitmproxy import options

        # mitmproxy logs every client connect at info; the capture has its own output.
        logging.getLogger("mitmproxy").setLevel(logging.WARNING)
        self.changed = asyncio.Event()
        if self.flows_path is not None:
            self.flows_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.flows_path, "a", encoding="utf-8")
        Path(self.confdir).mkdir(parents=True, exist_ok=True)
        master = _lean_master(options.Options(confdir=self.confdir))
        self.addon = CaptureAddon(sink=self._sink, via=self.via_for)
        master.addons.add(self.addon)
        try:
            master.options.update(mode=[r.spec() for r in self.routes],
                                  connection_strategy="lazy", ssl_insecure=self.insecure,
                                  hardump=self.mitmproxy_har)
        except Exception as exc:  # mitmproxy's OptionsError: a bad mode spec or address
            raise CaptureError(f"capture proxy: {exc}") from None
        self._master = master
        self._task = asyncio.ensure_future(master.run())
        ps = master.addons.get("proxyserver")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while True:
            if self._task.done():
                exc = self._task.exception()
                raise CaptureError(f"capture proxy did not start: {exc}")
            by_spec = {s.mode.full_spec: s for s in ps.servers}
            ready = [by_spec.get(r.spec()) for r in self.routes]
            if all(s is not None and s.listen_addrs for s in ready):
                break
            if loop.time() > deadline:
                errors = [str(getattr(s, "last_exception", "")) for s in ps.servers]
                raise CaptureError(f"capture proxy did not listen within {START_TIMEOUT_S:g} s "
                                   f"({'; '.join(e for e in errors if e) or 'no error given'})")
            await asyncio.sleep(0.02)
        self.addresses = [tuple(s.listen_addrs[0][:2]) for s in ready]
        self.addon.routes = {addr[1]: r.via for addr, r in zip(self.addresses, self.routes, strict=True)
                             if r.via is not None}
        return self.addresses

    async def stop(self) -> None:
        if self._master is not None:
            self._master.shutdown()
            if self._task is not None:
                await asyncio.gather(self._task, return_exceptions=True)
            self._master = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def snapshot(self) -> list[dict[str, Any]]:
        """Finished entries plus the WebSockets still open, as they stand."""
        open_now = self.addon.open_entries() if self.addon is not None else []
        return self.entries + open_now


def _lean_master(opts: Any) -> Any:
    """A mitmproxy master with the addons a recording proxy needs and no others.

    mitmproxy's DumpMaster loads some thirty addons (replay, map-local, block
    lists, anticache...) whose hooks run on every flow; a capture uses none of
    them. What stays: the core options, the listeners, protocol detection, TLS
    (the CA, upstream verification), DNS for regular mode, HTTP/2 cleartext
    refusal, the HAR export, and the error check that stops a bad start."""
    from mitmproxy import master
    from mitmproxy.addons import (
        core,
        disable_h2c,
        dns_resolver,
        errorcheck,
        next_layer,
        proxyserver,
        savehar,
        tlsconfig,
        upstream_auth,
    )

    m = master.Master(opts, with_termlog=False)
    m.addons.add(core.Core(), proxyserver.Proxyserver(), next_layer.NextLayer(),
                 tlsconfig.TlsConfig(), dns_resolver.DnsResolver(), disable_h2c.DisableH2C(),
                 upstream_auth.UpstreamAuth(), savehar.SaveHar(), errorcheck.ErrorCheck())
    return m


class CaptureThread:
    """A :class:`LiveCapture` on its own event loop thread (``with`` it, or start/stop)."""

    def __init__(self, routes: list[Route], **kw: Any) -> None:
        self.capture = LiveCapture(routes, **kw)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="syncbench-capture")

    def start(self) -> list[Address]:
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(self.capture.start(), self._loop)
        return fut.result(START_TIMEOUT_S + 5)

    def stop(self) -> list[dict[str, Any]]:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self.capture.stop(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        return self.capture.entries

    def __enter__(self) -> CaptureThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_har(path: str | Path, entries: list[dict[str, Any]]) -> None:
    """A HAR 1.2 file of ``entries`` (as mitmproxy's export writes one)."""
    from mitmproxy import version

    har = {"log": {"version": "1.2", "creator": {"name": "syncbench capture (mitmproxy "
                                                  f"{version.VERSION})", "version": "1"},
                   "pages": [], "entries": sorted(entries, key=lambda e: e["startedDateTime"])}}
    Path(path).write_text(json.dumps(har, indent=1), encoding="utf-8")
