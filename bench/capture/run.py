"""``syncbench capture``: one command gives an app a shaped, observed link.

Theory of operation::

    app ──► capture listener (mitmproxy) ──► link proxy (the timeline's profiles) ──► server
                      │                              ▲
                      ▼                              │ LinkDriver: profile at t/K
               flows.jsonl (every flow, at once)     └──► links.jsonl (class at every step)
                      │
           every 2 s and at the end: trace.jsonl  (flows + links + app log, the mapping)
           at the end: capture.har (and mitmproxy's own export, mitmproxy.har),
                       the verdicts, report/

The link proxy is the bench's own (a process of its own, as in real runs) or
``TOXIPROXY_URL``'s; in reverse mode one proxy shapes the path to
``--upstream``; in regular mode (the phone's proxy setting) each server the
app reaches gets a proxy of its own on first use, every one following the
same timeline. With ``--route VIA`` (the real runner's use) the link is
someone else's: each route is a listener whose server connections cross the
proxy at ``VIA``, and the capture only records.

The trace is rewritten whole (atomically) while the capture runs, since a
change's save time can lie before flows already written; a reader never sees
a half-written file. Ctrl-C, SIGTERM or ``--duration`` end the capture.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.capture.errors import CaptureError

# A capture is a person's session with a phone: a week bounds it.
MAX_DURATION_S = 7 * 24 * 3600.0
MAX_TIME_SCALE = 600.0
REWRITE_EVERY_S = 2.0


@dataclass(kw_only=True)
class CaptureConfig:
    listen: tuple[str, int] = ("127.0.0.1", 8080)
    upstream: str | None = None
    mode: str = "reverse"
    mapping: Any = None  # a bench.capture.mapping.Mapping
    steps: tuple = ()    # the link timeline (bench.link.mobility.Step), empty: unshaped
    time_scale: float = 1.0
    out: Path = Path("capture")
    policy: str = "planado"
    device: str | None = None
    app_log: Path | None = None
    app_log_offset_s: float = 0.0
    duration_s: float | None = None
    confdir: str | None = None
    insecure_upstream: bool = False
    vias: list[tuple[str, int]] = field(default_factory=list)  # --route: record only
    check: bool = True
    quiet: bool = False
    seed: int | None = None

    def validate(self) -> None:
        if not (math.isfinite(self.time_scale) and 0 < self.time_scale <= MAX_TIME_SCALE):
            raise ValueError(f"--time-scale must be in (0, {MAX_TIME_SCALE:g}], got {self.time_scale:g}")
        if self.duration_s is not None and not (0 < self.duration_s <= MAX_DURATION_S):
            raise ValueError(f"--duration must be in (0, {MAX_DURATION_S:g}] seconds, "
                             f"got {self.duration_s:g}")
        if self.mode == "reverse" and not self.upstream:
            raise ValueError("--upstream URL is needed in reverse mode (the server the app talks to)")
        if self.upstream:
            u = urlsplit(self.upstream)
            if u.scheme not in ("http", "https") or not u.hostname:
                raise ValueError(f"--upstream must be an http:// or https:// URL, got {self.upstream!r}")
        if self.app_log is not None and not self.app_log.is_file():
            raise ValueError(f"--app-log {self.app_log}: no such file")


def free_ports(host: str, n: int) -> list[int]:
    """``n`` distinct free ports (mitmproxy will not open two listeners on ``host:0``)."""
    import socket

    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def upstream_address(url: str) -> tuple[str, int]:
    u = urlsplit(url)
    return u.hostname or "", u.port or (443 if u.scheme == "https" else 80)


def load_timeline(path: str | Path) -> tuple:
    """A link timeline file: YAML/JSON ``[{t: 0, profile: 3g}, [600, edge], ...]`` (spec seconds)."""
    import yaml

    from bench.link.mobility import Step, TimelineError, timeline

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"--link-timeline {path}: cannot read ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"--link-timeline {path}: not YAML ({exc})") from None
    if isinstance(data, dict):
        data = data.get("steps", data.get("link"))
    if not isinstance(data, list):
        raise ValueError(f"--link-timeline {path}: must be a list of steps {{t, profile}}")
    steps = []
    for i, s in enumerate(data):
        if isinstance(s, dict) and set(s) == {"t", "profile"}:
            t, prof = s["t"], s["profile"]
        elif isinstance(s, list | tuple) and len(s) == 2:
            t, prof = s
        else:
            raise ValueError(f"--link-timeline {path}: step {i}: must be {{t, profile}} or [t, profile]")
        try:
            steps.append(Step(t=t, profile=str(prof)))
        except TimelineError as exc:
            raise ValueError(f"--link-timeline {path}: step {i}: {exc}") from None
    try:
        return timeline(steps)
    except TimelineError as exc:
        raise ValueError(f"--link-timeline {path}: {exc}") from None


class Session:
    """One capture from start to its outputs; see the module docs."""

    def __init__(self, cfg: CaptureConfig, *, echo: Any = None) -> None:
        self.cfg = cfg
        self.echo = echo or (lambda *a: None if cfg.quiet else print(*a, file=sys.stderr, flush=True))
        self.links: list[tuple[float, str]] = []
        self.epoch = 0.0
        self.capture: Any = None  # bench.capture.live.LiveCapture
        self._shapers: dict[tuple[str, int], tuple[str, tuple[str, int]]] = {}
        self._api: Any = None
        self._profile: Any = None
        self._links_file: Any = None

    # -- shaping --------------------------------------------------------------
    def _shaper(self, address: tuple[str, int]) -> tuple[str, int]:
        if address not in self._shapers:
            name = f"capture-{len(self._shapers)}-{address[0]}-{address[1]}"
            listen = self._api.create_proxy(name, f"{address[0]}:{address[1]}")["listen"]
            host, port = listen.rsplit(":", 1)
            self._shapers[address] = (name, (host, int(port)))
            if self._profile is not None:
                self._api.apply_profile(name, self._profile, self.cfg.time_scale)
        return self._shapers[address][1]

    async def _via_for(self, address: tuple[str, int]) -> tuple[str, int] | None:
        return await asyncio.to_thread(self._shaper, address)

    def _apply(self, profile: Any, k: float) -> None:
        self._profile = profile
        for name, _ in list(self._shapers.values()):
            self._api.apply_profile(name, profile, k)

    def _on_link(self, ev: dict) -> None:
        self.links.append((ev["t"], ev["class"]))
        if self._links_file is not None:
            self._links_file.write(json.dumps({"t": ev["t"], "unix": round(time.time(), 6),
                                               "class": ev["class"]}) + "\n")
            self._links_file.flush()

    # -- the trace ------------------------------------------------------------------
    def trace_events(self, entries: list[dict]) -> list[dict]:
        from bench.capture.applog import read_app_log
        from bench.capture.har import exchanges
        from bench.capture.translate import build_trace

        cfg = self.cfg
        app_log = None
        if cfg.app_log is not None:
            app_log = read_app_log(cfg.app_log, epoch=self.epoch, k=cfg.time_scale,
                                   offset_s=cfg.app_log_offset_s, device=cfg.device)
        return build_trace(exchanges(entries), cfg.mapping, policy=cfg.policy, epoch=self.epoch,
                           k=cfg.time_scale, device=cfg.device,
                           links={None: self.links} if self.links else None, app_log=app_log)

    def write_trace(self, entries: list[dict]) -> Path:
        from bench.trace.writer import write_trace

        path = self.cfg.out / "trace.jsonl"
        tmp = path.with_suffix(".jsonl.tmp")
        write_trace(tmp, self.trace_events(entries))
        os.replace(tmp, path)
        return path

    # -- the run --------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> int:
        from bench.capture.live import LiveCapture, Route  # mitmproxy: only when capturing

        cfg = self.cfg
        cfg.out.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stack:
            if cfg.vias:
                routes = [Route(listen=(cfg.listen[0], p), upstream=cfg.upstream, via=v)
                          for v, p in zip(cfg.vias, free_ports(cfg.listen[0], len(cfg.vias)),
                                          strict=True)]
                via_for = None
            else:
                from bench.link.client import LinkClient
                from bench.real.proxyproc import link_proxy

                endpoint = stack.enter_context(link_proxy(cfg.seed, log=cfg.out / "proxy.log"))
                self._api = stack.enter_context(LinkClient(endpoint.url))
                stack.callback(self._drop_shapers)
                if cfg.mode == "reverse":
                    via = self._shaper(upstream_address(cfg.upstream))
                    routes = [Route(listen=cfg.listen, upstream=cfg.upstream, via=via)]
                    via_for = None
                else:
                    routes = [Route(listen=cfg.listen, mode="regular")]
                    via_for = self._via_for
            self.capture = LiveCapture(routes, confdir=cfg.confdir, flows=cfg.out / "flows.jsonl",
                                       insecure_upstream=cfg.insecure_upstream, via_for=via_for,
                                       mitmproxy_har=cfg.out / "mitmproxy.har")
            try:
                addrs = await self.capture.start()
            except CaptureError:
                await self.capture.stop()
                raise
            self.epoch = time.time()
            self._links_file = stack.enter_context(open(cfg.out / "links.jsonl", "w"))
            for a in addrs:
                self.echo(f"capture on http://{a[0]}:{a[1]} ({cfg.mode}"
                          + (f" to {cfg.upstream}" if cfg.upstream else "")
                          + (f", link timeline of {len(cfg.steps)} steps at K={cfg.time_scale:g}"
                             if cfg.steps else "") + f"); writing {cfg.out}/")
            if cfg.vias:  # the runner reads this line for the listeners, in route order
                print("capture listening " + " ".join(f"{a[0]}:{a[1]}" for a in addrs), flush=True)
            tasks = [asyncio.ensure_future(self._rewrite(stop))]
            if cfg.steps and self._api is not None:
                from bench.link.driver import LinkDriver

                driver = LinkDriver(dev="capture", apply=self._apply, time_scale=cfg.time_scale,
                                    emit=self._on_link, clock=time.time)
                tasks.append(asyncio.ensure_future(driver.run(cfg.steps, start=self.epoch)))
            if cfg.duration_s is not None:
                tasks.append(asyncio.ensure_future(self._stop_after(stop)))
            try:
                await stop.wait()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await self.capture.stop()
        return self.finish()

    async def _stop_after(self, stop: asyncio.Event) -> None:
        await asyncio.sleep(self.cfg.duration_s / self.cfg.time_scale)
        stop.set()

    async def _rewrite(self, stop: asyncio.Event) -> None:
        if self.cfg.vias:
            return  # the runner builds its traces itself
        assert self.capture is not None and self.capture.changed is not None
        while not stop.is_set():
            await asyncio.sleep(REWRITE_EVERY_S)
            if self.capture.changed.is_set():
                self.capture.changed.clear()
                try:
                    self.write_trace(self.capture.snapshot())
                except ValueError as exc:  # a bad app log line: said once at the end
                    self.echo(f"capture: trace not written yet: {exc}")

    def _drop_shapers(self) -> None:
        for name, _ in self._shapers.values():
            with contextlib.suppress(Exception):
                self._api.delete_proxy(name)

    def finish(self) -> int:
        from bench.capture.live import write_har

        assert self.capture is not None
        cfg = self.cfg
        entries = self.capture.entries
        write_har(cfg.out / "capture.har", entries)
        if self.capture.dropped:
            self.echo(f"capture: {self.capture.dropped} flows past the limit of "
                      f"{self.capture.max_entries} were not kept")
        if cfg.vias:
            return 0
        trace = self.write_trace(entries)
        self.echo(f"capture: {len(entries)} flows; trace {trace}, HAR {cfg.out / 'capture.har'}")
        if not cfg.check:
            return 0
        return check_and_report(trace, cfg.policy, cfg.out / "report", echo=self.echo)


def check_and_report(trace: Path, policy: str, report_dir: Path, *, echo: Any) -> int:
    """Check a capture's trace, print the verdicts, write its report into ``report_dir``;
    the check's exit status."""
    from bench.report.write import write_check_report
    from bench.rules.checker import check_trace_file
    from bench.rules.render import table

    name, results, meta = check_trace_file(trace, policy)
    print(table(name, results, source=str(trace)))
    report = write_check_report(report_dir, trace, name, results, meta)
    echo(f"capture: report {report}")
    if results and all(r.verdict == "n/a" for r in results):
        echo(f"capture: nothing to judge: every rule of {name} is n/a (no traffic the mapping "
             "recognises?); docs/own-app.md")
        return 2
    return 1 if any(r.verdict == "fail" for r in results) else 0


def run_capture(cfg: CaptureConfig) -> int:
    """Run a capture until Ctrl-C, SIGTERM or ``duration_s``; returns the exit status."""
    cfg.validate()

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        return await Session(cfg).run(stop)

    return asyncio.run(main())
