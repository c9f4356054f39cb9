"""Shared tools for the real-client tests: a server on port 0, configs, the web API."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from reference_client.client import ClientConfig

# Wall seconds any single wait in these tests may take on a loaded 2-core machine.
WAIT_S = 20.0


def config(srv: Any, tmp: Path, device: str = "w1", **kw: Any) -> ClientConfig:
    token = srv.tokens.get(device) or srv.provision(device)
    kw.setdefault("store", tmp / f"{device}-store")
    kw.setdefault("trace", tmp / f"{device}.jsonl")
    return ClientConfig(server=srv.url, token=token, device=device, **kw)


def web(srv: Any, method: str, path: str, **body: Any) -> dict:
    """A dispatcher call (``/v1/web/...``); returns the decoded body."""
    r = httpx.request(method, srv.url + path, json=body if method != "GET" else None,
                      headers=srv.auth(srv.dispatcher_token), timeout=WAIT_S)
    assert r.status_code in (200, 201), (path, r.status_code, r.text)
    return r.json()


def server_view(srv: Any, device: str) -> dict[str, int]:
    return web(srv, "POST", "/v1/web/snapshot", devices=[device])["snapshots"][device]


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 4 * WAIT_S))
