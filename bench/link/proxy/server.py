"""The proxy server as a whole: the API listener plus the registry of proxies.

Theory of operation: :class:`ProxyServer` runs on the caller's event loop
(``async with ProxyServer(port=0, seed=7) as srv: srv.url``).
:class:`ProxyServerThread` runs one on a private loop in a daemon thread for
synchronous callers and tests; its ``url`` is usable as soon as the ``with``
block is entered (readiness is awaited, never slept for). The seed is the one
source of randomness; without one, a seed is drawn and reported in ``seed``
so that a run can still be repeated.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bench.link.proxy import api, http
from bench.link.proxy.registry import Registry

# Upstream's defaults: "HTTP API (default 127.0.0.1:8474)".
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8474

T = TypeVar("T")


def fresh_seed() -> int:
    """A seed for a server started without one (reported, so the run can be repeated)."""
    return random.SystemRandom().randrange(2**31)


class ProxyServer:
    """A Toxiproxy-compatible server on the running event loop."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
                 seed: int | None = None, allow_browsers: bool = False) -> None:
        self.host = host
        self.allow_browsers = allow_browsers
        self._ids = http.RequestIds()
        self.port = port
        self.seed = fresh_seed() if seed is None else seed
        self.registry = Registry(seed=self.seed)
        self._server: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> ProxyServer:
        async def handler(method: str, target: str, body: bytes):
            return await api.handle(self.registry, method, target, body)

        async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            self._clients.add(task)
            try:
                await http.serve_connection(reader, writer, handler,
                                            allow_browsers=self.allow_browsers, ids=self._ids)
            finally:
                self._clients.discard(task)

        self._server = await asyncio.start_server(client, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        await self.registry.close()

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        await self._server.serve_forever()

    async def __aenter__(self) -> ProxyServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class ProxyServerThread:
    """A :class:`ProxyServer` on its own loop in a daemon thread, for synchronous code."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, *, seed: int | None = None,
                 allow_browsers: bool = False) -> None:
        self.server = ProxyServer(host, port, seed=seed, allow_browsers=allow_browsers)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def seed(self) -> int:
        return self.server.seed

    def start(self) -> ProxyServerThread:
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self.loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.server.start())
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                ready.set_exception(exc)
                loop.close()
                return
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(self.server.close())
            _finish_tasks(loop)
            loop.close()

        self._thread = threading.Thread(target=run, name="syncbench-proxy", daemon=True)
        self._thread.start()
        ready.result()
        return self

    def call(self, fn: Callable[[], Awaitable[T]], timeout: float = 10.0) -> T:
        """Run a coroutine function on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(fn(), self.loop).result(timeout)

    def close(self) -> None:
        if self._thread is None:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self._thread = None

    def __enter__(self) -> ProxyServerThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still running and let it end, as ``asyncio.run`` does.

    A dial cancelled as the loop stops would otherwise be destroyed pending, its
    refused connect logged as never retrieved -- a traceback formatted in a
    finalizer, wherever the thread that collects it happens to be.
    """
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
