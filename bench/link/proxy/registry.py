"""The collection of proxies behind the HTTP API (upstream's ``ProxyCollection``).

Theory of operation: every API call becomes one method here, taking typed
arguments (the API layer has already parsed and checked the JSON) and raising
:class:`~bench.link.proxy.errors.ApiError` with upstream's message and status.
Calls that start or stop listeners await; a lock keeps two API requests from
interleaving halfway through, as upstream's collection mutex does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.link.proxy.errors import ApiError, not_found
from bench.link.proxy.proxy import Proxy, split_hostport
from bench.link.proxy.toxics import Settings, Toxic

# Where a proxy listens when the request names no address. Upstream passes ""
# to net.Listen (every interface); the bench keeps links on loopback.
DEFAULT_LISTEN = "127.0.0.1:0"


class Registry:
    """Every proxy of one server, by name."""

    def __init__(self, *, seed: int) -> None:
        self.seed = seed
        self.proxies: dict[str, Proxy] = {}
        self.lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            raise not_found("proxy")
        return proxy

    def _new(self, name: str, listen: str | None, upstream: str) -> Proxy:
        return Proxy(name=name, listen=listen or DEFAULT_LISTEN, upstream=upstream,
                     seed=self.seed)

    async def create(self, *, name: str, upstream: str, listen: str | None = None,
                     enabled: bool = True) -> Proxy:
        if name in self.proxies:
            raise ApiError(409, "proxy already exists")
        proxy = self._new(name, listen, upstream)
        if enabled:
            await proxy.start()  # a bind error leaves nothing behind
        self.proxies[name] = proxy
        return proxy

    async def delete(self, name: str) -> None:
        proxy = self.get(name)
        await proxy.stop()
        del self.proxies[name]

    async def populate(self, specs: list[dict[str, Any]]) -> list[Proxy]:
        """Create or replace each proxy; one whose address and upstream are unchanged stays.

        A requested listen address matches the proxy's bound address or the
        one it was created with, so re-populating ``127.0.0.1:0`` keeps the
        proxy (and its port and toxics) instead of replacing it.
        """
        done: list[Proxy] = []
        for spec in specs:
            listen = spec.get("listen") or DEFAULT_LISTEN
            existing = self.proxies.get(spec["name"])
            if existing is not None:
                if (existing.upstream == spec["upstream"]
                        and listen in (existing.listen, existing.requested_listen)):
                    done.append(existing)
                    continue
                await existing.stop()
                del self.proxies[spec["name"]]
            done.append(await self.create(name=spec["name"], upstream=spec["upstream"],
                                          listen=listen, enabled=spec.get("enabled", True)))
        return done

    async def reset(self) -> None:
        """Every proxy enabled, every toxic removed."""
        for proxy in self.proxies.values():
            proxy.remove_all_toxics()
            await proxy.start()

    async def close(self) -> None:
        for proxy in self.proxies.values():
            await proxy.stop()
        self.proxies.clear()

    # -- toxics --------------------------------------------------------------------
    @staticmethod
    def toxic(proxy: Proxy, name: str) -> Toxic:
        toxic = proxy.toxics.get(name)
        if toxic is None:
            raise not_found("toxic")
        return toxic

    @staticmethod
    def add_toxic(proxy: Proxy, *, name: str, type: str, stream: str, toxicity: float,
                  settings: Settings) -> Toxic:
        toxic = Toxic(name=name, type=type, stream=stream, toxicity=toxicity, settings=settings)
        proxy.add_toxic(toxic)
        return toxic


def check_addresses(spec: dict[str, Any]) -> None:
    """Reject malformed ``listen``/``upstream`` before anything changes."""
    split_hostport(spec["upstream"], "upstream")
    if spec.get("listen"):
        split_hostport(spec["listen"], "listen")
